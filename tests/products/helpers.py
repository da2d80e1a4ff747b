"""What the product tests share: a client of `/product/{tenant}/products`."""

from __future__ import annotations

from tests.factories import Api


class Products(Api):
    """Requests to /product/{tenant}/products… of the test's tenant."""

    prefix = "/product"

    def url(self, path: str) -> str:
        return f"{self.prefix}/{self.tenant}/products{path}"
