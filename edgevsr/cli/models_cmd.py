"""`edgevsr models`: the model zoo with parameters, cost and shipped weights (torch-free: answers at once)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models() -> None:
        """List models: kind, parameters, GMAC at 480x270 input, shipped weights."""
        from rich.console import Console
        from rich.table import Table

        from edgevsr.catalog import MODELS, shipped_cards

        cards = shipped_cards()
        table = Table("model", "kind", "params", "GMAC @480x270", "shipped weights")
        for name, info in MODELS.items():
            names = ", ".join(n for n, c in cards.items() if c["model"] == name) or "-"
            table.add_row(name, info.kind, f"{info.params / 1e6:.3f} M", f"{info.gmac():.1f}", names)
        Console().print(table)  # the answer: stdout, so `edgevsr models | less` works
