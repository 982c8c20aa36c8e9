"""What can go wrong talking to the ERP, as exceptions a flow can act on."""


class ErpError(Exception):
    """Base of every ERP failure."""


class ErpTransportError(ErpError):
    """The ERP could not be reached (connection refused, reset, timed out) after the retries."""


class ErpAuthError(ErpError):
    """The ERP refused the credentials: fix the `erp_default` Connection (login, password, database)."""


class ErpUserError(ErpError):
    """A business rule in the ERP refused the request (Tryton ``UserError``), e.g. a duplicate key.

    Retrying the same request gives the same answer; the record must be fixed or reconciled.
    """

    def __init__(self, message: str, description: str = "", method: str = "", warning: str | None = None):
        super().__init__(f"{method}: {message}" + (f" ({description})" if description else ""))
        self.message = message
        self.description = description
        self.method = method
        # A Tryton UserWarning: a person would confirm it; its name identifies it (res.user.warning).
        self.warning = warning


class ErpServerError(ErpError):
    """The ERP failed unexpectedly (an exception on the server); its log has the traceback."""


class ErpWebShopNotFound(ErpError):
    """No web shop (or more than one) of the name a Connection gives: fix that Connection's web shop name."""
