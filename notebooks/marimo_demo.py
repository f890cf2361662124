# bos_widget in marimo: `marimo edit notebooks/marimo_demo.py` (or `marimo run ...` as an app).
# The widget is an anywidget, so marimo shows it through `mo.ui.anywidget`; moving a slider
# updates the Python traits, and cells that read them run again.
import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full")


@app.cell
def _():
    import marimo as mo

    import bos_widget

    return bos_widget, mo


@app.cell
def _(bos_widget, mo):
    # SmolLM2-135M-Instruct from its PyPI wheel: offline, a few seconds on a CPU
    text = "The old lighthouse keeper climbed the stairs every evening to light the lamp."
    # layer 0 to start from: the button below jumps to the strongest sink head
    widget = bos_widget.show(text, model="smollm2", layer=0)
    attention = mo.ui.anywidget(widget)

    # Python -> view: setting a trait moves the widget (the sink grid is [layer][head])
    grid = widget.sink_grid
    top = max(
        ((l, h) for l in range(len(grid)) for h in range(len(grid[l]))),
        key=lambda lh: grid[lh[0]][lh[1]],
    )

    def jump(_):
        widget.layer, widget.head = top

    button = mo.ui.button(
        label=f"Jump to the strongest sink head: layer {top[0]}, head {top[1]}", on_click=jump
    )
    mo.vstack([button, attention])
    return (attention,)


@app.cell
def _(attention, bos_widget, mo):
    # Runs again whenever the widget's traits change (a slider, a click on the grid).
    report = bos_widget.sink_report(attention.run, eps=attention.threshold)
    head = "mean of heads" if attention.head == -1 else f"head {attention.head}"
    mo.md(
        f"<span data-testid='marimo-traits'>layer {attention.layer}, {head}, "
        f"threshold {attention.threshold:.2f}</span>\n\n"
        f"{report.summary}"
    )
    return


if __name__ == "__main__":
    app.run()
