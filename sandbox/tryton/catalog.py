"""The demo data set of the sandbox ERP, as plain Python values (stdlib only).

Everything is derived from one fixed random seed, so every build produces the same catalog, prices,
stock levels and customers: tests and the demo can rely on codes and counts. ``seed.py`` writes these
values into Tryton; this module knows nothing about Tryton.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

SEED = 20260101
TEMPLATE_COUNT = 180
CUSTOMER_COUNT = 50
# Every ARCHIVED_TEMPLATE_EVERY-th template is archived with all its variants, and the last variant of
# every ARCHIVED_VARIANT_EVERY-th (other) template alone, so both archive paths exist in the data.
ARCHIVED_TEMPLATE_EVERY = 45
ARCHIVED_VARIANT_EVERY = 30
# Share of (variant, warehouse) pairs that get no stock at all: the integration must publish zeros.
OUT_OF_STOCK_RATE = 0.12
IMAGE_EVERY = 6

DISCOUNTED_CATEGORY = "Outerwear"
DISCOUNT_FACTOR = Decimal("0.85")
PRICE_LIST_NAME = "Web prices"
WEB_SHOP_NAME = "Online Store"
# A second web shop for the second store (the Vendure server): its orders are sales of their own shop, as a
# sale's web_id is unique per shop only. Same company, currency, warehouses, price list and assortment.
VENDURE_WEB_SHOP_NAME = "Vendure Store"
WEB_SHOP_NAMES = (WEB_SHOP_NAME, VENDURE_WEB_SHOP_NAME)
COMPANY_NAME = "Northwind Outfitters"
GUEST_PARTY_NAME = "Web Guest"
INTEGRATION_LOGIN = "integration"
MAIN_WAREHOUSE_NAME = "Central Warehouse"  # code WH, created by the stock module
SECOND_WAREHOUSE = {"name": "East Coast Warehouse", "code": "WH2"}

# Variant axes: (suffix, label, price delta added to the template's list price).
SIZES = [("XS", "XS", "0"), ("S", "S", "0"), ("M", "M", "0"), ("L", "L", "0"), ("XL", "XL", "2.00"),
         ("XXL", "XXL", "4.00")]
COLORS = [("BLK", "Black", "0"), ("NVY", "Navy", "0"), ("OLV", "Olive", "0"), ("SND", "Sand", "0"),
          ("RST", "Rust", "0"), ("GRY", "Heather Grey", "0"), ("WHT", "White", "0")]
CAPACITIES = [("250", "250 ml", "0"), ("350", "350 ml", "2.00"), ("500", "500 ml", "4.00"),
              ("750", "750 ml", "6.00"), ("1000", "1 l", "9.00")]
DIMENSIONS = [("SM", "Small", "0"), ("MD", "Medium", "8.00"), ("LG", "Large", "16.00"),
              ("XL", "Extra large", "24.00")]
SCENTS = [("CED", "Cedarwood", "0"), ("LAV", "Lavender", "0"), ("FIG", "Fig leaf", "0"),
          ("AMB", "Amber", "0"), ("SEA", "Sea salt", "0")]
RULINGS = [("RUL", "Ruled", "0"), ("DOT", "Dot grid", "0"), ("BLN", "Blank", "0"), ("GRD", "Squared", "0")]
AXES = {"size": ("Size", SIZES), "color": ("Color", COLORS), "capacity": ("Capacity", CAPACITIES),
        "dimension": ("Size", DIMENSIONS), "scent": ("Scent", SCENTS), "ruling": ("Ruling", RULINGS)}

# Product families: (code, noun, department, category, axis, price range, materials, pitch).
FAMILIES = [
    ("TEE", "Tee", "Apparel", "T-Shirts", "size", (18, 38), ["Organic Cotton", "Slub Cotton", "Hemp"],
     "An everyday crew-neck tee with a relaxed fit and reinforced shoulder seams."),
    ("HOO", "Hoodie", "Apparel", "Sweatshirts", "size", (48, 89), ["Brushed Fleece", "Loopback Cotton"],
     "A midweight hooded sweatshirt with a lined hood and a kangaroo pocket."),
    ("JKT", "Jacket", "Apparel", "Outerwear", "size", (89, 249),
     ["Waxed Canvas", "Ripstop", "Recycled Nylon"],
     "A weather-ready jacket with taped seams, a storm flap and two hand-warmer pockets."),
    ("PRK", "Parka", "Apparel", "Outerwear", "size", (149, 329), ["Insulated Nylon", "Down-Filled"],
     "A warm knee-length parka with a removable hood and an adjustable drawcord waist."),
    ("KNT", "Sweater", "Apparel", "Knitwear", "size", (69, 149), ["Merino Wool", "Lambswool", "Cotton Cable"],
     "A fine-gauge knit with ribbed cuffs and hem that keeps its shape wash after wash."),
    ("SCK", "Socks", "Apparel", "Socks", "color", (9, 19), ["Merino Blend", "Bamboo", "Cushioned Cotton"],
     "Breathable crew socks with a cushioned sole and a seamless toe."),
    ("CAP", "Cap", "Apparel", "Headwear", "color", (22, 36), ["Twill", "Corduroy", "Recycled Polyester"],
     "A six-panel cap with a curved brim and an adjustable strap."),
    ("BNE", "Beanie", "Apparel", "Headwear", "color", (19, 34), ["Merino Wool", "Recycled Acrylic"],
     "A soft rib-knit beanie with a fold-over cuff."),
    ("MUG", "Mug", "Home", "Mugs & Cups", "capacity", (14, 28), ["Stoneware", "Enamel", "Porcelain"],
     "A dishwasher-safe mug with a comfortable handle and a glazed finish."),
    ("CDL", "Candle", "Home", "Candles", "scent", (18, 42), ["Soy Wax", "Beeswax", "Coconut Wax"],
     "A hand-poured candle with a cotton wick and a clean, even burn of about 45 hours."),
    ("CSH", "Cushion", "Home", "Cushions", "color", (29, 59), ["Linen", "Boucle", "Washed Velvet"],
     "A plump feather-filled cushion with a removable cover and a hidden zip."),
    ("THR", "Throw", "Home", "Throws & Blankets", "color", (59, 149),
     ["Wool", "Alpaca Blend", "Waffle Cotton"],
     "A generous throw with fringed edges, soft enough for the sofa and warm enough for the bed."),
    ("TWL", "Towel Set", "Home", "Towels", "color", (34, 79), ["Turkish Cotton", "Waffle Weave", "Linen"],
     "A quick-drying towel set that gets softer with every wash."),
    ("PLT", "Planter", "Home", "Planters", "dimension", (19, 64),
     ["Terracotta", "Glazed Ceramic", "Concrete"],
     "A planter with a drainage hole and a matching saucer."),
    ("BRD", "Cutting Board", "Kitchen", "Boards", "dimension", (29, 89), ["Walnut", "Maple", "Acacia"],
     "A solid hardwood board with juice grooves, finished with food-safe oil."),
    ("APR", "Apron", "Kitchen", "Aprons", "color", (28, 54), ["Heavy Canvas", "Linen", "Denim"],
     "A full-length apron with cross-back straps and two deep pockets."),
    ("TTW", "Tea Towel", "Kitchen", "Tea Towels", "color", (9, 19), ["Linen", "Cotton Herringbone"],
     "An absorbent tea towel with a hanging loop."),
    ("TOT", "Tote Bag", "Accessories", "Bags", "color", (24, 69), ["Canvas", "Recycled Cotton", "Jute"],
     "A roomy tote with reinforced handles and an inside zip pocket."),
    ("BPK", "Backpack", "Accessories", "Bags", "color", (79, 179),
     ["Waxed Canvas", "Cordura", "Recycled PET"],
     "A 20-litre daypack with a padded laptop sleeve and water-resistant base."),
    ("WLT", "Wallet", "Accessories", "Small Leather Goods", "color", (39, 89), ["Full-Grain Leather",
                                                                               "Vegetable-Tanned Leather"],
     "A slim bifold wallet with six card slots and a note compartment."),
    ("SCF", "Scarf", "Accessories", "Scarves", "color", (29, 79), ["Merino Wool", "Cashmere Blend", "Modal"],
     "A long, lightweight scarf with hand-finished edges."),
    ("NTB", "Notebook", "Stationery", "Notebooks", "ruling", (12, 29), ["Recycled Paper", "Linen-Bound",
                                                                       "Stone Paper"],
     "A lay-flat notebook with 192 numbered pages, an elastic closure and a ribbon marker."),
    ("BTL", "Water Bottle", "Outdoor", "Bottles", "capacity", (24, 44), ["Stainless Steel", "Insulated Steel",
                                                                        "Tritan"],
     "A leak-proof bottle that keeps drinks cold for 24 hours and hot for 12."),
    ("CMG", "Camp Mug", "Outdoor", "Camp Kitchen", "capacity", (16, 32), ["Enamel Steel", "Titanium"],
     "A rugged camp mug that goes from the stove to the table."),
]
ADJECTIVES = ["Classic", "Everyday", "Heritage", "Coastal", "Alpine", "Harbor", "Field", "Studio", "Nordic",
              "Canyon", "Meadow", "Summit", "Urban", "Vintage", "Woodland", "Prairie", "Atlas", "Drift",
              "Fjord", "Juniper", "Lodge", "Mesa", "Sierra", "Tidal"]
CARE = {"Apparel": "Machine wash cold, tumble dry low.", "Home": "Wipe clean or wash on a gentle cycle.",
        "Kitchen": "Hand wash recommended.", "Accessories": "Spot clean with a damp cloth.",
        "Stationery": "Made from FSC-certified materials.", "Outdoor": "Hand wash; do not microwave."}

FIRST_NAMES = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
               "Mia", "Mason", "Amelia", "Ethan", "Harper", "Logan", "Evelyn", "Aiden", "Abigail", "Jackson",
               "Emily", "Sebastian", "Ella", "Mateo", "Scarlett", "Owen", "Grace", "Daniel", "Chloe", "Henry",
               "Zoe", "Samuel", "Nora", "Leo", "Lily", "Julian"]
LAST_NAMES = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
              "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
              "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
              "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen",
              "Hill"]
# (state code, state name, city, postal code prefix)
CITIES = [("CA", "California", "San Francisco", "941"), ("CA", "California", "Los Angeles", "900"),
          ("NY", "New York", "Brooklyn", "112"), ("TX", "Texas", "Austin", "787"),
          ("WA", "Washington", "Seattle", "981"), ("IL", "Illinois", "Chicago", "606"),
          ("MA", "Massachusetts", "Boston", "021"), ("OR", "Oregon", "Portland", "972"),
          ("CO", "Colorado", "Denver", "802"), ("GA", "Georgia", "Atlanta", "303")]
# Countries the store's shoppers ship to (the country module ships none): code, code3, numeric, name, and
# the subdivisions orders use.
COUNTRIES = [("US", "USA", "840", "United States", []), ("CA", "CAN", "124", "Canada", [("ON", "Ontario")]),
             ("GB", "GBR", "826", "United Kingdom", []), ("DE", "DEU", "276", "Germany", [])]
# Services an order brings besides its goods: what the integration books shipping, taxes, discounts and
# refund adjustments on, so that the ERP's sale total equals the store's order total.
SERVICE_PRODUCTS = {"shipping": ("SHIPPING", "Shipping"), "tax": ("SALES-TAX", "Sales tax"),
                    "discount": ("DISCOUNT", "Discount"), "refund": ("REFUND", "Refund adjustment")}
STREETS = ["Oak Street", "Maple Avenue", "Cedar Lane", "Pine Road", "Elm Street", "Washington Avenue",
           "Lake Drive", "Hillcrest Road", "Park Place", "Sunset Boulevard", "River Road", "Mill Street"]


@dataclass(frozen=True)
class Variant:
    suffix: str  # appended to the template code: product.code is the SKU, e.g. TEE-0001-S
    label: str
    list_price: Decimal | None  # None: the variant sells at its template's list price
    cost_price: Decimal
    description: str
    active: bool
    stock: tuple[int, int]  # quantity received in (WH, WH2); 0 means no stock at all


@dataclass(frozen=True)
class Template:
    code: str
    name: str
    department: str
    category: str
    list_price: Decimal
    active: bool
    image_rgb: tuple[int, int, int] | None
    variants: list[Variant] = field(default_factory=list)


@dataclass(frozen=True)
class Customer:
    first_name: str
    last_name: str
    email: str
    phone: str
    street: str
    city: str
    postal_code: str
    state_code: str
    state_name: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    # Shop-like price points: whole dollars, .50 or .95 endings.
    return Decimal(rng.randint(low, high)) + Decimal(rng.choice(["0.00", "0.50", "0.95"]))


def _stock(rng: random.Random) -> tuple[int, int]:
    def one() -> int:
        if rng.random() < OUT_OF_STOCK_RATE:
            return 0
        return rng.choice([rng.randint(1, 12), rng.randint(10, 250)])  # a few low, most well stocked
    return one(), one()


def _template(rng: random.Random, index: int, number: int, used_names: set[str]) -> Template:
    code, noun, department, category, axis, (low, high), materials, pitch = FAMILIES[index % len(FAMILIES)]
    name = f"{rng.choice(ADJECTIVES)} {rng.choice(materials)} {noun}"
    while name in used_names:
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(materials)} {noun}"
    used_names.add(name)
    list_price = _price(rng, low, high)
    axis_label, options = AXES[axis]
    count = 2 + index % 3  # 2, 3, 4 variants in turn: 3 on average, deterministic totals
    start = rng.randint(0, len(options) - count)
    archived_template = index % ARCHIVED_TEMPLATE_EVERY == ARCHIVED_TEMPLATE_EVERY - 1
    archived_last_variant = not archived_template and index % ARCHIVED_VARIANT_EVERY == 7
    variants = []
    for position, (suffix, label, delta) in enumerate(options[start:start + count]):
        price = list_price + Decimal(delta) if Decimal(delta) else None
        variants.append(Variant(
            suffix=f"-{suffix}", label=label, list_price=price,
            cost_price=((price or list_price) * Decimal(rng.choice(["0.38", "0.42", "0.45", "0.50"]))
                        ).quantize(Decimal("0.01")),
            description=f"{name}, {axis_label.lower()} {label}. {pitch} {CARE[department]}",
            active=not (archived_last_variant and position == count - 1),
            stock=_stock(rng)))
    image = tuple(rng.randint(40, 220) for _ in range(3)) if index % IMAGE_EVERY == 0 else None
    return Template(code=f"{code}-{number:04d}", name=name, department=department, category=category,
                    list_price=list_price, active=not archived_template, image_rgb=image, variants=variants)


def templates() -> list[Template]:
    rng = random.Random(SEED)
    used_names: set[str] = set()
    numbers: dict[str, int] = {}
    result = []
    for index in range(TEMPLATE_COUNT):
        family = FAMILIES[index % len(FAMILIES)][0]
        numbers[family] = numbers.get(family, 0) + 1
        result.append(_template(rng, index, numbers[family], used_names))
    return result


def customers() -> list[Customer]:
    rng = random.Random(SEED + 1)
    result = []
    seen: set[tuple[str, str]] = set()
    while len(result) < CUSTOMER_COUNT:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if (first, last) in seen:
            continue
        seen.add((first, last))
        state_code, state_name, city, zip_prefix = rng.choice(CITIES)
        result.append(Customer(
            first_name=first, last_name=last,
            email=f"{first}.{last}@example.com".lower(),
            phone=f"+1 555 {rng.randint(100, 999):03d} {rng.randint(1000, 9999):04d}",
            street=f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
            city=city, postal_code=f"{zip_prefix}{rng.randint(0, 99):02d}",
            state_code=state_code, state_name=state_name))
    return result


def categories() -> dict[str, list[str]]:
    """Department -> its categories, in catalog order."""
    tree: dict[str, list[str]] = {}
    for _code, _noun, department, category, *_rest in FAMILIES:
        tree.setdefault(department, [])
        if category not in tree[department]:
            tree[department].append(category)
    return tree
