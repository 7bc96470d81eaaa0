"""`edgevsr models`: the model zoo with parameters, cost and shipped weights."""

from __future__ import annotations

import typer
from rich.table import Table

from edgevsr.cli.progress import console


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models() -> None:
        """List models: kind, parameters, GMAC at 480x270 input, shipped weights."""
        from edgevsr.models import ARCHITECTURES, build_model
        from edgevsr.weights import shipped_weights

        cards = shipped_weights()
        table = Table("model", "kind", "params", "GMAC @480x270", "shipped weights")
        for name in ARCHITECTURES:
            m = build_model(name)
            params = sum(p.numel() for p in m.parameters())
            gmac = m.macs_per_lr_pixel() * 480 * 270 / 1e9
            names = ", ".join(c.name for c in cards.values() if c.model == name) or "-"
            table.add_row(name, m.kind, f"{params / 1e6:.3f} M", f"{gmac:.1f}", names)
        console.print(table)
