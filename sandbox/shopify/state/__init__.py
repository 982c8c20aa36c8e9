"""The emulator's store: records, indexes, persistence and the domain operations on them."""
