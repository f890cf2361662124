"""Command line: ``bos-widget report "text" --model smollm2``.

Prints the per-layer sink table and the sink rate of one text on one model.
"""

from __future__ import annotations

import argparse
import sys

DEFAULT_TEXT = (
    "The old lighthouse keeper climbed the stairs every evening to light the lamp, "
    "because ships still passed the rocks at night."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bos-widget",
        description="Measure attention sinks: why do so many tokens attend to the first token?",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="print the per-layer sink table and the sink rate")
    rep.add_argument("text", nargs="?", default=DEFAULT_TEXT, help="text to analyse")
    rep.add_argument("--model", default="smollm2", help="smollm2, minilm, or a hub id")
    rep.add_argument("--eps", type=float, default=0.3, help="sink threshold (default 0.3)")
    rep.add_argument("--max-tokens", type=int, default=None, help="truncate to this many tokens")
    rep.add_argument(
        "--format", choices=("text", "csv", "json"), default="text", help="output format"
    )
    rep.add_argument("--heads", action="store_true", help="one row per head instead of per layer")
    return parser


def _report(args: argparse.Namespace) -> int:
    from .capture import capture
    from .models import demo_model
    from .report import sink_report

    model, tokenizer = demo_model(args.model)
    run = capture(model, tokenizer, args.text, max_tokens=args.max_tokens, model_name=args.model)
    report = sink_report(run, eps=args.eps)
    table = report.table if args.heads else report.layers
    if args.format == "csv":
        sys.stdout.write(table.to_csv(index=False))
    elif args.format == "json":
        sys.stdout.write(f"{table.to_json(orient='records', indent=1)}\n")
    else:
        print(report.summary)
        print()
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bos-widget`` command."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "report":
            return _report(args)
    except (ValueError, TypeError, ImportError) as exc:
        print(f"bos-widget: {exc}", file=sys.stderr)
        return 2
    return 1  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
