"""Command line: ``bos-widget report "text" --model smollm2``,
``bos-widget render "text" --model smollm2 -o out.html`` and ``bos-widget explain --model gemma3``.

``report`` prints the per-layer sink table and the sink rate of one text on one model;
``render`` writes the widget as one offline HTML page, or its current view as PNG or SVG;
``explain`` tests the four popular claims on the built-in corpus and prints the verdicts.
"""

from __future__ import annotations

import argparse
import sys

from traitlets import TraitError

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
    ren = sub.add_parser(
        "render", help="write the widget as an offline .html page, or one view as .png/.svg"
    )
    ren.add_argument("text", nargs="?", default=DEFAULT_TEXT, help="text to analyse")
    ren.add_argument("--model", default="smollm2", help="smollm2, minilm, or a hub id")
    ren.add_argument("-o", "--output", required=True, help="file to write: .html, .png or .svg")
    ren.add_argument(
        "--layer", type=int, default=None, help="layer shown (default: the strongest sink layer)"
    )
    ren.add_argument("--head", type=int, default=-1, help="head shown first; -1 = mean (default)")
    ren.add_argument("--eps", type=float, default=0.3, help="sink threshold (default 0.3)")
    ren.add_argument("--view", choices=("arcs", "matrix"), default=None, help="figure kind")
    ren.add_argument("--weighting", choices=("raw", "norm"), default="raw")
    ren.add_argument("--max-tokens", type=int, default=None, help="truncate to this many tokens")
    ren.add_argument("--uint8", action="store_true", help=".html: 8-bit slices, about half size")
    ren.add_argument(
        "--mean-heads", action="store_true", help=".html: only the mean of heads, ~1/10 the size"
    )
    ren.add_argument("--max-mb", type=float, default=25.0, help=".html: size cap (default 25)")
    exp = sub.add_parser("explain", help="test claims C1-C4 on a corpus and print the verdicts")
    exp.add_argument("--model", default="smollm2", help="smollm2, minilm, gemma3, or a hub id")
    exp.add_argument("--texts", type=int, default=None, help="use the first N corpus texts")
    exp.add_argument("--n-edit", type=int, default=32, help="texts for the edited passes")
    exp.add_argument("--T", type=int, default=64, help="tokens per text (default 64)")
    exp.add_argument("--eps", type=float, default=0.3, help="sink threshold (default 0.3)")
    exp.add_argument("--tables", action="store_true", help="also print every diagnostic table")
    return parser


def _explain(args: argparse.Namespace) -> int:
    from .corpus import load_corpus
    from .explain import explain
    from .models import demo_model

    model, tokenizer = demo_model(args.model)
    texts = load_corpus(args.texts)
    report = explain(model, tokenizer, texts, T=args.T, eps=args.eps, n_edit=args.n_edit)
    print(report)
    if args.tables:
        for name, table in report.diagnostics.items():
            print(f"\n{name}: {table.attrs.get('diagnostic', '')}")
            shown = table.drop(columns=["model", "T", "bos_added"], errors="ignore")
            print(shown.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    return 0


def _report(args: argparse.Namespace) -> int:
    from .analysis.report import sink_report
    from .capture.driver import capture
    from .models import demo_model

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


def _render(args: argparse.Namespace) -> int:
    import pathlib

    from .models import demo_model
    from .views.seq2seq import Seq2SeqView
    from .views.widget import AttentionWidget

    out = pathlib.Path(args.output)
    suffix = out.suffix.lower()
    if suffix not in (".html", ".png", ".svg"):
        raise ValueError(f"-o must end in .html, .png or .svg, got {out.name!r}.")
    model, tokenizer = demo_model(args.model)
    opts = {"max_tokens": args.max_tokens, "model_name": args.model, "progress": False}
    w = AttentionWidget.from_model(
        model, tokenizer, args.text, layer=args.layer, head=args.head, threshold=args.eps,
        view=args.view, weighting=args.weighting, **opts,
    )  # fmt: skip
    if isinstance(w, Seq2SeqView):  # an encoder-decoder model: its cross-attention
        w = w.cross or w.current
    assert isinstance(w, AttentionWidget)
    if suffix == ".html":
        heads = "mean" if args.mean_heads else "all"
        w.to_html(out, heads=heads, encoding="uint8" if args.uint8 else None, max_mb=args.max_mb)
    else:
        w.save_image(out)
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB): {w.run!r}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bos-widget`` command."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "report":
            return _report(args)
        if args.command == "render":
            return _render(args)
        if args.command == "explain":
            return _explain(args)
    except (ValueError, TypeError, ImportError, OSError, TraitError) as exc:
        print(f"bos-widget: {exc}", file=sys.stderr)
        return 2
    return 1  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
