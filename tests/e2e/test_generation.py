"""Generation in a real browser (JupyterLab 4): ``show(prompt, max_new_tokens=N)`` draws a
dashed line where the prompt ends and a step control; moving the control selects the query
row of that generation step in Python (``w.step``, ``w.selected``) and names the token it
chose; setting ``w.step`` from Python moves the control. A run without generation has no
step control.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from . import jupyter as jp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

NOTEBOOK = "generation.ipynb"
PROMPT = "The capital of France is"
CELLS = [
    "import bos_widget\n"
    f"w = bos_widget.show({PROMPT!r}, max_new_tokens=6, progress=False)\n"
    "P, T = w.run.meta.prompt_len, w.run.T\n"
    "w",
    f"bos_widget.show({PROMPT!r}, progress=False)",
]

# pixels of the line colour in the boundary's column, between its two ends (device pixels)
LINE_INK = """c => {
    const [x, y0, y1] = c.dataset.boundary.split(' ').map(Number);
    const r = c.width / c.getBoundingClientRect().width;
    const h = Math.round((y1 - y0) * r);
    const data = c.getContext('2d').getImageData(Math.round(x * r) - 1, Math.round(y0 * r), 3,
        h).data;
    let ink = 0;
    for (let row = 0; row < h; row++) {
        let a = 0;
        for (let col = 0; col < 3; col++) a = Math.max(a, data[(row * 3 + col) * 4 + 3]);
        if (a > 100) ink++;
    }
    return ink / h;
}"""


@pytest.mark.parametrize("server", ["lab"], indirect=True)  # one UI: same widget code
def test_step_control_walks_the_generated_tokens(server, browser):
    with jp.notebook_page(browser, server, NOTEBOOK, CELLS, widgets=2) as page:
        gen, plain = page.get_by_test_id("bosw-root").all()
        expect(plain.get_by_test_id("bosw-step")).to_be_hidden()
        step = gen.get_by_test_id("bosw-step")
        expect(step).to_be_visible()
        n_prompt, T = jp.execute(page, "(P, T)")
        assert step.get_attribute("max") == str(T - n_prompt)
        expect(gen.get_by_test_id("bosw-step-text")).to_have_text(
            f"all queries · {T - n_prompt} generated"
        )
        canvas = gen.get_by_test_id("bosw-canvas")
        page.wait_for_function(
            "c => !!c.dataset.boundary", arg=canvas.element_handle(), timeout=60_000
        )
        ink = canvas.evaluate(LINE_INK)
        jp.shot(page, "generation-boundary", gen)
        assert 0.3 < ink < 0.9, f"a dashed line: {ink:.2f} of its column inked"

        gen.get_by_test_id("bosw-step-next").click()
        expect(gen.get_by_test_id("bosw-step-text")).to_contain_text("step 1 of")
        assert jp.execute(page, "(w.step, w.selected)") == [1, n_prompt - 1]
        gen.get_by_test_id("bosw-step-next").click()
        expect(gen.get_by_test_id("bosw-step-text")).to_contain_text("step 2 of")
        assert jp.execute(page, "w.selected") == n_prompt
        token = jp.execute(page, "bosw_tok = w.run.tokens[P + 2]; bosw_tok")
        assert jp.execute(page, "w.step = 3; w.selected") == n_prompt + 1
        expect(step).to_have_value("3")
        expect(gen.get_by_test_id("bosw-step-text")).to_contain_text(f"chose «{token}»")
        label = canvas.get_attribute("aria-label") or ""
        assert "layer" in label
        jp.shot(page, "generation-step3", gen)
