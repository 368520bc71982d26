"""2024-04-10: Product `features` renamed `marketing_features` (field and parameter).

docs.stripe.com/changelog/2024-04-10/renames-features-attribute-product-object"""

from simulators.stripe.versions.change import Obj, Render, VersionChange


def _product(obj: Obj, ctx: Render) -> None:
    if "marketing_features" in obj:
        obj["features"] = obj.pop("marketing_features")


CHANGE = VersionChange(
    version="2024-04-10",
    entry="https://docs.stripe.com/changelog/2024-04-10/renames-features-attribute-product-object",
    down={"product": _product},
    renamed_params={"post /v1/products": {"marketing_features": "features"},
                    "post /v1/products/{id}": {"marketing_features": "features"}})
