"""The ERP operations the flows use, over :class:`~erpsync.tryton.rpc.TrytonRpc`.

Everything is read through the ERP's web shop record (``web.shop``): it names the company, currency,
sale price list and warehouses that belong to our store, so that configuration stays in the ERP where
its owners maintain it.

Incremental reads take a :class:`~erpsync.common.window.Window` over Tryton's ``last_modified_at``
(``COALESCE(write_date, create_date)``) and page by id inside the window (keyset pagination): the window
is fixed for the whole read, so paging is stable even while the ERP keeps writing; a row modified
during the read moves past the window's end and is picked up by the next run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from decimal import Decimal
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from erpsync.common.window import Window
from erpsync.tryton.errors import (
    ErpError,
    ErpServerError,
    ErpTransportError,
    ErpUserError,
    ErpWebShopNotFound,
)
from erpsync.tryton.records import (
    ErpOffer,
    ErpProduct,
    ErpSale,
    ErpStockLevel,
    ErpWarehouse,
    ErpWebShop,
    SaleCreateResult,
    SaleDraft,
)
from erpsync.tryton.rpc import TrytonRpc

log = logging.getLogger(__name__)

PRODUCT_FIELDS = [
    "code", "active", "description", "list_price_used", "sale_price_uom", "last_modified_at",
    "template", "template.name", "template.code", "template.active", "template.salable",
    "template.last_modified_at", "template.default_uom.symbol", "template.categories.name",
    "template.image_url", "template.images.last_modified_at", "web_shops",
]
SALE_FIELDS = ["number", "web_id", "state", "total_amount", "reference"]
# The states from which Tryton's sale buttons may be pressed (sale.py: Sale._buttons).
SALE_BUTTON_SOURCES = {"quote": {"draft"}, "confirm": {"quotation"}, "cancel": {"draft", "quotation"}}


class TrytonClient:
    """Business-level access to one Tryton database for one web shop."""

    def __init__(self, rpc: TrytonRpc, *, web_shop: str, page_size: int = 500, sale_batch_size: int = 25,
                 image_base_url: str | None = None):
        if page_size < 1 or sale_batch_size < 1:
            raise ValueError("page_size and sale_batch_size must be positive")
        self.rpc = rpc
        self.web_shop_name = web_shop
        # Where the store fetches product images: the ERP's public address (Tryton serves them itself).
        self.image_base_url = (image_base_url or rpc.url.rsplit(f"/{rpc.database}/rpc/", 1)[0]).rstrip("/")
        self.page_size = page_size
        # Tryton creates+confirms ~25 sales per call well; on SQLite >~100 records per call overflow
        # its SQL parser.
        self.sale_batch_size = sale_batch_size
        self._web_shops: dict[str, ErpWebShop] = {}

    # -- context ------------------------------------------------------------------------------------

    @cached_property
    def user_context(self) -> dict[str, Any]:
        """The user's preferences (company, language...): Tryton's own clients send them on every call."""
        return self.rpc.call("model.res.user.get_preferences", True, {})

    @cached_property
    def web_shop(self) -> ErpWebShop:
        return self.other_web_shop(self.web_shop_name)

    def other_web_shop(self, name: str) -> ErpWebShop:
        """The ERP's web shop named ``name`` (read once per client)."""
        if name not in self._web_shops:
            self._web_shops[name] = self._read_web_shop(name)
        return self._web_shops[name]

    def _read_web_shop(self, name: str) -> ErpWebShop:
        rows = self.model(
            "web.shop", "search_read", [("name", "=", name)], 0, 2, None,
            ["name", "company", "company.currency.code", "currency", "currency.code", "sale_price_list",
             "warehouses"],
        )
        if len(rows) != 1:
            where = ("extra.web_shop on the `erp_default` Connection" if name == self.web_shop_name
                     else "extra.erp_web_shop on the store's Connection")
            raise ErpWebShopNotFound(
                f"{'no' if not rows else 'more than one'} web shop named {name!r} in the ERP: set {where} to the"
                " name of the ERP's web shop"
            )
        row = rows[0]
        warehouses = self.model(
            "stock.location", "read", row["warehouses"], ["code", "name"], context={"active_test": False}
        )
        return ErpWebShop(
            id=row["id"],
            name=row["name"],
            company_id=row["company"],
            currency_id=row["currency"],
            currency_code=row["currency."]["code"],
            price_currency_code=row["company."]["currency."]["code"],
            sale_price_list_id=row.get("sale_price_list"),
            warehouses=tuple(
                ErpWarehouse(id=w["id"], code=w["code"] or str(w["id"]), name=w["name"])
                for w in sorted(warehouses, key=lambda w: w["id"])
            ),
        )

    def model(self, model: str, method: str, *args: Any, context: dict[str, Any] | None = None) -> Any:
        """Call ``model.<model>.<method>(*args, context)`` with the user's context merged in."""
        merged = {**self.user_context, **(context or {})}
        return self.rpc.call(f"model.{model}.{method}", *args, merged)

    def iter_search_read(
        self, model: str, domain: list[Any], fields: list[str], *, context: dict[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """All rows matching ``domain``, a page at a time, ordered by id (keyset pagination)."""
        last_id = 0
        while True:
            rows = self.model(
                model, "search_read", [*domain, ("id", ">", last_id)], 0, self.page_size,
                [("id", "ASC")], fields, context=context,
            )
            if rows:
                yield rows
                last_id = rows[-1]["id"]
            if len(rows) < self.page_size:
                return

    # -- catalog ------------------------------------------------------------------------------------

    def _catalog_context(self, shop: ErpWebShop | None = None) -> dict[str, Any]:
        shop = shop or self.web_shop
        context: dict[str, Any] = {"company": shop.company_id, "active_test": False}
        if shop.sale_price_list_id:
            context["price_list"] = shop.sale_price_list_id
        return context

    def iter_changed_products(
        self, window: Window | None, *, skus: Sequence[str] | None = None, ids: Sequence[int] | None = None,
        offers_for: Sequence[str] = (),
    ) -> Iterator[list[ErpProduct]]:
        """Variants whose own record or whose template changed in ``window`` (all when None), archived
        ones included (the store must unpublish them), a page at a time.

        ``skus`` (codes) or ``ids`` restrict the read to those variants whatever their modification time
        (manual reruns; variants that joined or left the web shop, which changes neither).
        ``offers_for`` names other web shops (the other stores'): each variant then carries how each of
        them offers it (:class:`ErpOffer`: listed or not, at its own price list's price; one more read per
        page for each price list other than this web shop's).
        """
        domain: list[Any] = [("type", "=", "goods")]
        if skus is not None:
            domain.append(("code", "in", list(skus)))
        elif ids is not None:
            domain.append(("id", "in", list(ids)))
        elif window is not None:
            # Images are records of their own: adding one touches neither the variant nor the template.
            domain.append(["OR",
                           changed_in("last_modified_at", window),
                           changed_in("template.last_modified_at", window),
                           changed_in("template.images.last_modified_at", window)])
        others = [self.other_web_shop(name) for name in dict.fromkeys(offers_for) if name != self.web_shop.name]
        for rows in self.iter_search_read(
            "product.product", domain, PRODUCT_FIELDS, context=self._catalog_context()
        ):
            rows = [row for row in rows if row.get("code")]
            currency = self.web_shop.price_currency_code
            offers = self._offers(rows, others)
            yield [replace(_product_from_row(row, currency, self.image_base_url, self.web_shop.id),
                           offers=offers.get(row["id"], ()))
                   for row in rows]

    def _offers(self, rows: list[dict[str, Any]], shops: Sequence[ErpWebShop]) -> dict[int, tuple[ErpOffer, ...]]:
        """Product id -> how each of ``shops`` offers it. A shop with this one's price list has its prices."""
        if not shops or not rows:
            return {}
        prices: dict[int | None, dict[int, Any]] = {
            self.web_shop.sale_price_list_id: {row["id"]: _sale_price(row) for row in rows}}
        for shop in shops:
            if shop.sale_price_list_id not in prices:
                read = self.model("product.product", "read", [row["id"] for row in rows],
                                  ["list_price_used", "sale_price_uom"], context=self._catalog_context(shop))
                prices[shop.sale_price_list_id] = {row["id"]: _sale_price(row) for row in read}
        return {
            row["id"]: tuple(
                ErpOffer(web_shop=shop.name, listed=shop.id in (row.get("web_shops") or ()),
                         sale_price=prices[shop.sale_price_list_id].get(row["id"]),
                         currency=shop.price_currency_code)
                for shop in shops)
            for row in rows
        }

    def web_shop_product_ids(self, shop: ErpWebShop | None = None) -> set[int]:
        """The goods the web shop (this one, or ``shop``) lists (its assortment), archived ones included."""
        return {row["id"] for rows in self.iter_search_read(
            "product.product", self._listed_goods(shop), ["id"], context={"active_test": False}) for row in rows}

    def web_shop_product_count(self, shop: ErpWebShop | None = None) -> int:
        """How many goods the web shop (this one, or ``shop``) lists (one cheap call)."""
        return self.model("product.product", "search_count", self._listed_goods(shop), context={"active_test": False})

    def _listed_goods(self, shop: ErpWebShop | None = None) -> list[Any]:
        return [("type", "=", "goods"), ("web_shops", "=", (shop or self.web_shop).id), ("code", "!=", None)]

    def price_list_changed(self, window: Window, shop: ErpWebShop | None = None) -> bool:
        """Whether the shop's (this one's, or ``shop``'s) sale price list or one of its lines changed in
        ``window``.

        Price list edits do not touch the products they reprice, so the flow refreshes all prices then.
        (A web shop switched to another price list that did not change itself is not seen: the web shop's
        own write date moves with every assortment change too, so it cannot tell. Run a full refresh then.)
        """
        price_list = (shop or self.web_shop).sale_price_list_id
        if price_list is None or window.start is None:
            return window.start is None
        in_window = changed_in("last_modified_at", window)
        changed_list = self.model(
            "product.price_list", "search_count", [("id", "=", price_list), in_window]
        )
        changed_lines = self.model(
            "product.price_list.line", "search_count", [("price_list", "=", price_list), in_window]
        )
        return bool(changed_list or changed_lines)

    def newest_change(self, model: str, *, since: dt.datetime | None, after: dt.datetime | None
                      ) -> dt.datetime | None:
        """The newest ``last_modified_at`` of ``model``'s records (archived ones included) that is at or
        after ``since`` and strictly after ``after`` (either bound None: unbounded), or None: one search
        of one row, newest first (the change watcher asks this every second or two)."""
        domain: list[Any] = []
        if since is not None:
            domain.append(("last_modified_at", ">=", since))
        if after is not None:
            domain.append(("last_modified_at", ">", after))
        rows = self.model(model, "search_read", domain, 0, 1, [("last_modified_at", "DESC")],
                          ["last_modified_at"], context={"active_test": False})
        return rows[0]["last_modified_at"] if rows else None

    # -- stock --------------------------------------------------------------------------------------

    def iter_stock_moved_product_ids(self, window: Window) -> Iterator[list[int]]:
        """Ids of the products with a stock move created or changed in ``window``, or with a sale line
        changed in it.

        Stock moves never touch the product's own write date, so moves are the change log of stock. A
        deleted move leaves no trace there, and Tryton deletes the planned moves of a sale it amends
        (``sale_amendment`` clears them and plans the lines again): a line amended down to nothing gets
        no new move, and the units it released would never be read. The amended line itself is written,
        so sale lines are read as a change log too.
        """
        seen: set[int] = set()
        changed = changed_in("last_modified_at", window)
        for model, domain in (("stock.move", [changed]),
                              ("sale.line", [changed, ("product.type", "=", "goods")])):
            for rows in self.iter_search_read(model, domain, ["product"]):
                fresh = sorted({row["product"] for row in rows if row["product"] is not None} - seen)
                seen.update(fresh)
                if fresh:
                    yield fresh

    def iter_goods_ids(self) -> Iterator[list[int]]:
        """Ids of every goods variant, archived ones included, a page at a time (full stock refresh)."""
        for rows in self.iter_search_read(
            "product.product", [("type", "=", "goods")], ["id"], context={"active_test": False}
        ):
            yield [row["id"] for row in rows]

    def stock_levels(self, product_ids: Iterable[int], warehouses: Sequence[ErpWarehouse] | None = None
                     ) -> list[ErpStockLevel]:
        """On-hand and forecast quantity of each product in each of the shop's warehouses (or of
        ``warehouses``: those of every store's web shop), each stamped
        ``read_at``: the ERP's clock at the end of the call before the read, so no later than the read
        (a sale the ERP confirmed after that time may or may not be in the figures; one confirmed
        before it is)."""
        ids = sorted(set(product_ids))
        levels: list[ErpStockLevel] = []
        for warehouse in self.web_shop.warehouses if warehouses is None else warehouses:
            context = {"locations": [warehouse.id], "active_test": False}
            for start in range(0, len(ids), self.page_size):
                read_at = self.server_clock()
                rows = self.model(
                    "product.product", "read", ids[start:start + self.page_size],
                    ["code", "quantity", "forecast_quantity"], context=context,
                )
                levels.extend(
                    ErpStockLevel(
                        erp_product_id=row["id"],
                        sku=row["code"],
                        warehouse_id=warehouse.id,
                        warehouse_code=warehouse.code,
                        quantity=Decimal(str(row["quantity"])),
                        forecast_quantity=Decimal(str(row["forecast_quantity"])),
                        read_at=read_at,
                    )
                    for row in rows
                    if row.get("code")
                )
        return levels

    def server_clock(self) -> dt.datetime | None:
        """The ERP's clock when it answered this thread's last call (whole seconds, rounded down): a time
        no later than any call made after it. One cheap call first when this thread made none."""
        if self.rpc.server_time is None:
            self.model("product.product", "search_count", [("id", "=", 0)])
        return self.rpc.server_time

    # -- sales --------------------------------------------------------------------------------------

    def sales_by_web_id(self, web_ids: Iterable[str]) -> dict[str, ErpSale]:
        """The shop's sales whose external id (the store order id) is in ``web_ids``."""
        wanted = sorted(set(web_ids))
        found: dict[str, ErpSale] = {}
        for start in range(0, len(wanted), self.page_size):
            rows = self.model(
                "sale.sale", "search_read",
                [("web_shop", "=", self.web_shop.id), ("web_id", "in", wanted[start:start + self.page_size])],
                0, None, None, SALE_FIELDS,
            )
            found.update((row["web_id"], _sale_from_row(row)) for row in rows)
        return found

    def create_sales(self, drafts: Sequence[SaleDraft]) -> list[SaleCreateResult]:
        """Create the sales that do not exist yet, ``sale_batch_size`` per call; never one twice.

        ``(web_shop, web_id)`` is unique in the ERP, so a sale created by an earlier attempt (a crash
        before its ledger row was written, a retried task, an overlapping run) is found instead of
        created again. When a batch fails (a race on the unique key, a bad line, a lost response) we
        reconcile with what the ERP holds and create the remaining drafts one by one, so that one bad
        draft does not hold the good ones back.
        """
        web_ids = [draft.web_id for draft in drafts]
        if len(set(web_ids)) != len(web_ids):
            raise ValueError("create_sales got the same web_id twice in one call")
        results: dict[str, SaleCreateResult] = {
            web_id: SaleCreateResult(web_id, sale.id, created=False)
            for web_id, sale in self.sales_by_web_id(web_ids).items()
        }
        missing = [draft for draft in drafts if draft.web_id not in results]
        for start in range(0, len(missing), self.sale_batch_size):
            batch = missing[start:start + self.sale_batch_size]
            try:
                ids = self.model("sale.sale", "create", [self._sale_values(draft) for draft in batch])
            except (ErpUserError, ErpServerError, ErpTransportError) as error:
                log.warning("ERP refused a batch of %d sales (%s); reconciling one by one", len(batch), error)
                results.update(self._create_one_by_one(batch))
            else:
                results.update(
                    (draft.web_id, SaleCreateResult(draft.web_id, sale_id, created=True))
                    for draft, sale_id in zip(batch, ids, strict=True)
                )
        return [results[web_id] for web_id in web_ids]

    def _create_one_by_one(self, drafts: Sequence[SaleDraft]) -> dict[str, SaleCreateResult]:
        results = {
            web_id: SaleCreateResult(web_id, sale.id, created=False)
            for web_id, sale in self.sales_by_web_id(d.web_id for d in drafts).items()
        }
        for draft in drafts:
            if draft.web_id in results:
                continue
            try:
                (sale_id,) = self.model("sale.sale", "create", [self._sale_values(draft)])
            except (ErpUserError, ErpServerError) as error:
                # This draft's own outcome: refused by a rule, or a failure of the server on this sale alone.
                existing = self.sales_by_web_id([draft.web_id]).get(draft.web_id)
                results[draft.web_id] = (
                    SaleCreateResult(draft.web_id, existing.id, created=False)
                    if existing
                    else SaleCreateResult(draft.web_id, None, created=False, error=_reason(error))
                )
            else:
                results[draft.web_id] = SaleCreateResult(draft.web_id, sale_id, created=True)
        return results

    def _sale_values(self, draft: SaleDraft) -> dict[str, Any]:
        # A raw `create` runs no on_change: everything the form would fill in must be given here.
        shop = self.web_shop
        warehouse = draft.warehouse_id or (shop.warehouses[0].id if shop.warehouses else None)
        values: dict[str, Any] = {
            "company": shop.company_id,
            "currency": shop.currency_id,
            "web_shop": shop.id,
            "web_id": draft.web_id,
            "party": draft.party_id,
            "invoice_address": draft.invoice_address_id,
            "shipment_address": draft.shipment_address_id,
            "sale_date": draft.sale_date,
            "warehouse": warehouse,
            "reference": draft.reference,
            "comment": draft.comment,
            "lines": [("create", [
                {
                    "type": "line",
                    "product": line.product_id,
                    "quantity": float(line.quantity),
                    "unit": line.unit_id,
                    "unit_price": line.unit_price,
                    "description": line.description,
                }
                for line in draft.lines
            ])],
        }
        if shop.sale_price_list_id:
            values["price_list"] = shop.sale_price_list_id
        return values

    def quote_sales(self, sale_ids: Sequence[int]) -> dict[int, str]:
        """Move draft sales to quotation; sales already past it are left as they are. Returns the sales
        the ERP refused to quote, with its reason."""
        return self._transition("quote", sale_ids)

    def confirm_sales(self, sale_ids: Sequence[int]) -> dict[int, str]:
        """Confirm quoted sales (the ERP then plans their shipments); others are left as they are.
        Returns the sales the ERP refused to confirm, with its reason."""
        return self._transition("confirm", sale_ids)

    def cancel_sales(self, sale_ids: Sequence[int]) -> dict[int, str]:
        """Cancel the sales that can still be cancelled (draft, quotation); return every sale's state
        afterwards: one already confirmed or shipped keeps its state, for the caller to report."""
        self._transition("cancel", sale_ids)
        return {sale.id: sale.state for sale in self.read_sales(sale_ids)}

    def read_sales(self, sale_ids: Sequence[int]) -> list[ErpSale]:
        rows = self.model("sale.sale", "read", list(sale_ids), SALE_FIELDS)
        return [_sale_from_row(row) for row in rows]

    def _transition(self, button: str, sale_ids: Sequence[int]) -> dict[int, str]:
        """Press ``button`` on the sales in one of its source states; return the sales that refused it.

        Tryton refuses a button whose state makes it invisible (quoting a quotation is an error), so we
        filter first; this makes every transition safe to repeat. When a batch fails, one of its sales
        refused (a rule, a failure of the server on that sale) or moved under us (another worker): its
        sales are read again and pressed one by one, so that each has its own outcome.
        """
        sources = SALE_BUTTON_SOURCES[button]
        ids = [sale.id for sale in self.read_sales(list(dict.fromkeys(sale_ids))) if sale.state in sources]
        refused: dict[int, str] = {}
        for start in range(0, len(ids), self.sale_batch_size):
            batch = ids[start:start + self.sale_batch_size]
            try:
                self.model("sale.sale", button, batch)
            except (ErpUserError, ErpServerError) as error:
                log.info("%s of %d sales failed (%s); pressing it on each sale", button, len(batch), error)
                for sale in self.read_sales(batch):
                    if sale.state not in sources:
                        continue
                    try:
                        self.model("sale.sale", button, [sale.id])
                    except (ErpUserError, ErpServerError) as one:
                        refused[sale.id] = _reason(one)
        return refused


def _reason(error: ErpError) -> str:
    """What the ERP said (a rule's message), or the failure itself."""
    return getattr(error, "message", None) or str(error)


def changed_in(field: str, window: Window) -> list[Any]:
    """A Tryton domain: ``field`` in ``[window.start, window.end)``."""
    bounds: list[Any] = [(field, "<", window.end)]
    if window.start is not None:
        bounds.insert(0, (field, ">=", window.start))
    return bounds


def _image_url(relative: str | None, base: str) -> tuple[str, ...]:
    """Tryton's image_url is relative and sized for a thumbnail (s=64): make it absolute, full size."""
    if not relative:
        return ()
    parts = urlsplit(relative)
    query = urlencode([(key, value) for key, value in parse_qsl(parts.query) if key != "s"])
    return (f"{base}{parts.path}" + (f"?{query}" if query else ""),)


def _product_from_row(row: dict[str, Any], currency: str, image_base_url: str, web_shop_id: int) -> ErpProduct:
    template = row["template."]
    images = template.get("images.") or ()
    list_price = row.get("list_price_used")
    return ErpProduct(
        erp_product_id=row["id"],
        sku=row["code"],
        template_id=row["template"],
        template_code=template.get("code"),
        title=template["name"],
        description=row.get("description") or None,
        active=bool(row["active"] and template["active"]),
        salable=bool(template.get("salable")),
        list_price=list_price,
        sale_price=_sale_price(row),
        currency=currency,
        unit=(template.get("default_uom.") or {}).get("symbol"),
        updated_at=max(row["last_modified_at"], template["last_modified_at"]),
        categories=tuple(sorted(c["name"] for c in template.get("categories.") or ())),
        image_urls=_image_url(template.get("image_url"), image_base_url),
        in_web_shop=web_shop_id in (row.get("web_shops") or ()),
        image_version=",".join(
            f"{image['id']}@{image['last_modified_at'].isoformat()}" for image in sorted(images, key=lambda i: i["id"])
        ),
    )


def _sale_price(row: dict[str, Any]) -> Any:
    """The price list's price of a product row; its list price when the price list gives none."""
    sale_price = row.get("sale_price_uom")
    return sale_price if sale_price is not None else row.get("list_price_used")


def _sale_from_row(row: dict[str, Any]) -> ErpSale:
    return ErpSale(
        id=row["id"],
        number=row.get("number"),
        web_id=row["web_id"],
        state=row["state"],
        total_amount=row.get("total_amount"),
        reference=row.get("reference"),
    )
