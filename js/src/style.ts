// Style: the widget's CSS (scoped under .bosw, themed by JupyterLab / VS Code variables with
// fallbacks) and its one-time injection per document or shadow root.

const STYLE_ID = "bosw-style-v3";

export const CSS = `
.bosw {
  --bosw-bg: var(--jp-layout-color0, var(--vscode-editor-background, #ffffff));
  --bosw-panel: var(--jp-layout-color2, var(--vscode-sideBar-background, #f3f4f6));
  --bosw-fg: var(--jp-ui-font-color1, var(--vscode-editor-foreground, #1f2328));
  --bosw-muted: var(--jp-ui-font-color2, var(--vscode-descriptionForeground, #59636e));
  --bosw-border: var(--jp-border-color1, var(--vscode-panel-border, #d0d7de));
  --bosw-accent: var(--jp-brand-color1, var(--vscode-focusBorder, #1f6feb));
  --bosw-sink: var(--jp-warn-color1, var(--vscode-editorWarning-foreground, #e8590c));
  --bosw-error-fg: var(--jp-error-color1, var(--vscode-errorForeground, #b42318));
  --bosw-font: var(--jp-ui-font-family, var(--vscode-font-family, system-ui, -apple-system,
    "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif));
  --bosw-mono: var(--jp-code-font-family, var(--vscode-editor-font-family, ui-monospace,
    SFMono-Regular, Menlo, Consolas, monospace));
  box-sizing: border-box; max-width: 100%; padding: 10px 12px 12px;
  font-family: var(--bosw-font); font-size: 13px; line-height: 1.4;
  color: var(--bosw-fg); background: var(--bosw-bg);
  border: 1px solid var(--bosw-border); border-radius: 6px;
}
.bosw *, .bosw *::before, .bosw *::after { box-sizing: border-box; }
.bosw[data-theme="light"] { --bosw-bg: #ffffff; --bosw-panel: #f3f4f6; --bosw-fg: #1f2328;
  --bosw-muted: #59636e; --bosw-border: #d0d7de; --bosw-accent: #1f6feb; --bosw-sink: #e8590c;
  --bosw-error-fg: #b42318; }
.bosw[data-theme="dark"] { --bosw-bg: #161b22; --bosw-panel: #21262d; --bosw-fg: #e6edf3;
  --bosw-muted: #9198a1; --bosw-border: #3d444d; --bosw-accent: #4493f8; --bosw-sink: #f0883e;
  --bosw-error-fg: #f85149; }
.bosw-header { display: flex; flex-wrap: wrap; gap: 4px 14px; align-items: baseline;
  padding-bottom: 8px; border-bottom: 1px solid var(--bosw-border); margin-bottom: 8px; }
.bosw-header .bosw-model { font-weight: 600; font-size: 14px; }
.bosw-header .bosw-kv { color: var(--bosw-muted); white-space: nowrap; }
.bosw-header .bosw-kv b { color: var(--bosw-fg); font-weight: 600; }
.bosw-header .bosw-loading { color: var(--bosw-accent); }
.bosw-header .bosw-summary { flex-basis: 100%; color: var(--bosw-accent); }
.bosw-error { display: flex; gap: 8px; align-items: flex-start; margin: 0 0 8px;
  padding: 6px 8px; border: 1px solid var(--bosw-error-fg); border-radius: 4px;
  color: var(--bosw-error-fg); background: transparent; }
.bosw-error[hidden] { display: none; }
.bosw-error span { flex: 1; white-space: pre-wrap; }
.bosw-error button { border: none; background: none; color: inherit; cursor: pointer;
  font-size: 16px; line-height: 1; padding: 0 2px; }
.bosw-controls { display: flex; flex-wrap: wrap; gap: 6px 22px; align-items: center;
  margin-bottom: 8px; }
.bosw-control { display: flex; align-items: center; gap: 6px; white-space: nowrap; }
.bosw-control[hidden] { display: none; }
.bosw-control > span:first-child { color: var(--bosw-muted); }
.bosw-control input[type=range] { width: 150px; accent-color: var(--bosw-accent); }
.bosw-control output { font-variant-numeric: tabular-nums; min-width: 7.5em; }
.bosw-control select { font: inherit; color: var(--bosw-fg); background: var(--bosw-bg);
  border: 1px solid var(--bosw-border); border-radius: 4px; padding: 1px 4px; }
.bosw-figure { position: relative; width: 100%; }
.bosw-figure canvas { display: block; width: 100%; outline: none; cursor: crosshair; }
.bosw-figure canvas:focus-visible { box-shadow: 0 0 0 2px var(--bosw-accent); border-radius: 3px; }
.bosw-readout { height: calc(3 * 1.45em + 10px); margin: 6px 0 8px; padding: 5px 8px;
  line-height: 1.45em; overflow: hidden;
  background: var(--bosw-panel); border-radius: 4px; font-size: 12px;
  font-variant-numeric: tabular-nums; }
.bosw-readout .bosw-sinkname { color: var(--bosw-sink); font-weight: 600; }
.bosw-readout div { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.bosw-caption { color: var(--bosw-muted); font-size: 12px; margin: 8px 0 4px; }
.bosw-caption .bosw-swatch { display: inline-block; width: 9px; height: 9px; border-radius: 2px;
  background: var(--bosw-sink); margin: 0 3px 0 8px; vertical-align: baseline; }
.bosw-tokens { display: flex; flex-wrap: wrap; gap: 3px; max-height: 132px; overflow-y: auto;
  padding: 2px; }
.bosw-token { font-family: var(--bosw-mono); font-size: 12px; padding: 0 4px; border-radius: 3px;
  border: 1px solid var(--bosw-border); cursor: pointer; white-space: pre; user-select: none; }
.bosw-token:hover { border-color: var(--bosw-accent); }
.bosw-token.sink { border-color: var(--bosw-sink); color: var(--bosw-sink); font-weight: 600;
  background: rgba(232, 89, 12, 0.10); }
.bosw-token.selected { outline: 2px solid var(--bosw-accent); outline-offset: 0; }
.bosw-header .bosw-label { font-weight: 700; font-size: 14px; color: var(--bosw-bg);
  background: var(--bosw-accent); border-radius: 3px; padding: 0 6px; }
.bosw-control input[type=checkbox] { margin: 0; accent-color: var(--bosw-accent); }
.bosw-norms { margin: 4px 0 0; font-size: 11px; color: var(--bosw-muted); }
.bosw-norms[hidden] { display: none; }
.bosw-norms-legend { margin-bottom: 2px; }
.bosw-massive-key, .bosw-massive { color: var(--bosw-sink); }
.bosw-norms-label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.bosw-bars { position: relative; height: 30px; overflow-x: clip; }
.bosw-figcaption { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: baseline;
  margin: 4px 0 0; }
.bosw-figcaption[hidden], .bosw-strip-note[hidden], .bosw-zoom-reset[hidden] { display: none; }
.bosw-zoom-reset { font: inherit; font-size: 12px; color: var(--bosw-fg);
  background: var(--bosw-bg); border: 1px solid var(--bosw-border); border-radius: 4px;
  padding: 0 6px; cursor: pointer; }
.bosw-zoom-reset:disabled { color: var(--bosw-muted); cursor: default; opacity: 0.6; }
.bosw-token-gap { color: var(--bosw-muted); padding: 0 2px; }
.bosw-bar { position: absolute; bottom: 0; background: var(--bosw-accent); opacity: 0.75; }
.bosw-norms-row.value .bosw-bar { background: var(--bosw-muted); opacity: 0.6; }
.bosw-bar.massive { background: var(--bosw-sink); opacity: 1; }
.bosw-massive { position: absolute; top: -2px; font-size: 9px; line-height: 10px;
  transform: translateX(-50%); cursor: help; }
.bosw-grid { display: grid; gap: 1px; align-items: center; font-size: 10px;
  color: var(--bosw-muted); font-variant-numeric: tabular-nums; max-width: 100%;
  overflow-x: auto; }
.bosw-grid .bosw-rowlabel { text-align: right; padding-right: 4px; white-space: nowrap; }
.bosw-grid .bosw-collabel { text-align: center; overflow: visible; white-space: nowrap; }
.bosw-cell { position: relative; height: 15px; border-radius: 2px; cursor: pointer; }
.bosw-cell.marked::after { content: ""; position: absolute; left: 50%; top: 50%; width: 5px;
  height: 5px; margin: -2.5px 0 0 -2.5px; border-radius: 50%; background: var(--bosw-sink);
  box-shadow: 0 0 0 1px var(--bosw-bg); }
.bosw-cell.current { outline: 2px solid var(--bosw-fg); outline-offset: 0; z-index: 1; }
.bosw-cell:hover { outline: 1px solid var(--bosw-accent); z-index: 2; }
`;

/** Add the stylesheet once to the document (or shadow root) that holds `el`. */
export function injectStyle(el: HTMLElement): void {
  const root = el.getRootNode();
  const host: ParentNode & Node =
    root instanceof ShadowRoot ? root : (el.ownerDocument.head ?? el.ownerDocument.body);
  const scope = root instanceof ShadowRoot ? root : el.ownerDocument;
  if (scope.getElementById(STYLE_ID)) return;
  const style = el.ownerDocument.createElement("style");
  style.id = STYLE_ID;
  style.textContent = CSS;
  host.appendChild(style);
}
