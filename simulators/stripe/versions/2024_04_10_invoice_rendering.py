"""2024-04-10: Invoice `rendering_options` renamed `rendering` (which also carries the PDF
template), field and parameter.

docs.stripe.com/changelog/2024-04-10/renames-rendering-options-invoicing"""

from simulators.stripe.versions.change import Obj, Render, VersionChange


def _invoice(obj: Obj, ctx: Render) -> None:
    rendering = obj.pop("rendering", None) or {}
    display = rendering.get("amount_tax_display")
    obj["rendering_options"] = {"amount_tax_display": display} if display else None


CHANGE = VersionChange(
    version="2024-04-10",
    entry="https://docs.stripe.com/changelog/2024-04-10/renames-rendering-options-invoicing",
    down={"invoice": _invoice},
    renamed_params={"post /v1/invoices/{invoice}": {"rendering": "rendering_options"}})
