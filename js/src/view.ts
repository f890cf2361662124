// View (DOM): builds one widget view (header, controls, figure canvas and its captions, norms
// strip, readout, token strip, overview grid), hands a Scene (scene.ts) to the painters and
// controls, keeps the drawn figure's hit geometry for the pointer and reports what the user
// does through hooks. What to show is scene.ts's; when to show it is index.ts's.

import { Controls } from "./controls";
import { gridCaptionText, placeholder, type Skeleton, skeleton } from "./dom";
import { crossCellAt } from "./draw/crossmatrix";
import { CrossView } from "./draw/crossview";
import { drawFigure, type FigureHit } from "./draw/figure";
import { OverviewGrid } from "./draw/grid";
import { cellAt, MatrixPainter } from "./draw/matrix";
import { slotRowAt } from "./draw/slot";
import { readTheme, type Theme } from "./draw/theme";
import { ErrorBanner, renderHeader, renderReadout } from "./header";
import { bindCanvas } from "./interact";
import { indexAt } from "./layout";
import { NormsStrip } from "./norms";
import { readoutLines } from "./readout";
import { composeFigure, downloadCanvas, figureFileName, saveButton } from "./save";
import { columnsOf, moved, NO_POINTER, type Pointer, type Scene, type SceneInput } from "./scene";
import { SegmentControl } from "./segmentctl";
import { type Entry, LOST_KERNEL } from "./slices";
import { StepControl } from "./stepctl";
import { injectStyle } from "./style";
import { displayToken, TokenStrip } from "./tokens";
import type { Traits, WidgetModel } from "./types";
import {
  controlState,
  figureName,
  headerState,
  stripCaptionText,
  type ViewState,
  viewState,
  visibleRegion,
} from "./viewstate";
import { ZoomControl } from "./zoomctl";

export interface ViewHooks {
  /** the pointer moved: draw the slice on screen again */
  repaint(): void;
  /** the zoom changed, or a zoom drag moved: draw the region again */
  zoomed(): void;
  /** the figure's width changed */
  resized(): void;
}

/** Style and layout, read before any DOM write of a frame (avoids forced re-layouts). */
export interface Measure {
  theme: Theme;
  width: number;
  /** device pixels per CSS pixel */
  ratio: number;
}

export class View {
  readonly root: HTMLDivElement;
  readonly banner: ErrorBanner;
  readonly zoom: ZoomControl;
  private readonly sk: Skeleton;
  private readonly controls: Controls;
  private readonly segments: SegmentControl;
  private readonly steps: StepControl;
  private readonly norms: NormsStrip;
  private readonly strip: TokenStrip;
  private readonly grid: OverviewGrid;
  private readonly probe: CanvasRenderingContext2D;
  private readonly painters = { matrix: new MatrixPainter(), cross: new CrossView() };
  /** where the last figure drew what (pointer hit tests, zoom drags) */
  private hit: Pick<FigureHit, "arcs" | "matrix" | "cross"> = {
    arcs: null,
    matrix: null,
    cross: null,
  };
  /** the pointer and the display strings last drawn */
  private pointer: Pointer = NO_POINTER;
  private readonly unbindCanvas: () => void;
  private readonly ro: ResizeObserver | null;
  private frame = 0;
  private lastWidth = 0;

  /** `m` is the model whose traits the controls set; `hooks` say when to draw again. */
  constructor(
    host: HTMLElement,
    private readonly m: WidgetModel,
    hooks: ViewHooks,
  ) {
    const doc = host.ownerDocument;
    injectStyle(host);
    const state = () => viewState((name) => m.get(name));
    const save = <K extends keyof Traits>(name: K, v: Traits[K]) => {
      m.set(name, v);
      this.sync();
    };
    const hover = (i: number, cell: [number, number] | null) => {
      if (!moved(this.pointer, i, cell)) return;
      this.pointer = { ...this.pointer, hover: i, hoverCell: cell };
      hooks.repaint();
    };
    const sk = skeleton(doc);
    this.sk = sk;
    this.root = sk.root;
    this.banner = new ErrorBanner(doc);
    this.controls = new Controls(doc, {
      onLayer: (v) => save("layer", v),
      onHead: (v) => save("head", v),
      onThreshold: (v) => save("threshold", v),
      onView: (v) => save("view", v),
      onWeighting: (v) => save("weighting", v),
      onHideSinks: (v) => save("hide_sinks", v),
    });
    this.segments = new SegmentControl(doc, (v) => save("segment", v));
    this.controls.el.append(this.segments.el);
    this.steps = new StepControl(doc, (row) => save("selected", row));
    this.controls.el.append(this.steps.el);
    this.norms = new NormsStrip(doc);
    this.strip = new TokenStrip(doc, {
      // the strip lists keys; a query is picked there unless keys and queries differ (cross)
      onSelect: (i) => {
        const s = state();
        if (!s.queries) save("selected", s.selected === i ? null : i);
      },
      onHover: (i) => state().queries || hover(i, null),
    });
    this.grid = new OverviewGrid(doc, (layer, head) => {
      m.set("layer", layer);
      m.set("head", state().meta.summary ? -1 : head); // summary mode keeps only head means
      this.sync();
    });
    const saveBtn = saveButton(doc, () => {
      const items = Array.from(sk.header.children, (c) => c.textContent ?? "");
      const file = figureFileName(figureName(state()));
      downloadCanvas(composeFigure(sk.canvas, items, this.measure().theme), file);
    });
    this.controls.el.append(saveBtn);
    const { root, header, figure, readout } = sk;
    root.append(header, this.banner.el, this.controls.el, figure, this.norms.el, sk.figCaption);
    root.append(readout, sk.stripCaption, this.strip.note, this.strip.el);
    root.append(sk.gridCaption, this.grid.el);
    host.appendChild(root);
    this.probe = doc.createElement("canvas").getContext("2d") as CanvasRenderingContext2D;
    this.zoom = new ZoomControl(sk, () => {
      this.pointer = { ...this.pointer, hoverCell: null };
      hooks.zoomed();
    });

    this.unbindCanvas = bindCanvas(sk.canvas, {
      hit: (x, y) => {
        const { arcs, matrix, cross } = this.hit;
        if (arcs) return { i: indexAt(x, arcs.left, arcs.step, arcs.T), cell: null };
        const sq = matrix ? slotRowAt(matrix, x, y) : -1; // the sink slot is key T
        if (sq >= 0) return { i: -1, cell: [sq, state().T] as [number, number] };
        if (cross) return { i: -1, cell: crossCellAt(cross, x, y) };
        return { i: -1, cell: matrix ? cellAt(matrix, x, y) : null };
      },
      hover: (p) => hover(p.i, p.cell),
      selected: () => state().selected,
      select: (v) => save("selected", v),
      count: () => state().queries?.length ?? state().T,
      drag: (from, to, done) => !state().queries && this.zoom.drag(this.hit.matrix, from, to, done),
      wheel: (x, y, deltaY) => !state().queries && this.zoom.wheel(this.hit.matrix, x, y, deltaY),
    });

    const win = doc.defaultView;
    this.ro =
      typeof ResizeObserver === "undefined"
        ? null
        : new ResizeObserver(() => {
            const w = figure.clientWidth;
            if (w === this.lastWidth || !win) return;
            this.lastWidth = w;
            win.cancelAnimationFrame(this.frame);
            this.frame = win.requestAnimationFrame(hooks.resized);
          });
    this.ro?.observe(figure);
  }

  /** Send the traits set; after a kernel restart the comm is gone and this says so. */
  private sync(): void {
    try {
      this.m.save_changes();
    } catch {
      this.banner.show(LOST_KERNEL);
    }
  }

  /** Style and layout now; `theme` (the trait) is applied first when given. */
  measure(theme?: string): Measure {
    if (theme !== undefined) this.root.dataset.theme = theme;
    const ratio = this.root.ownerDocument.defaultView?.devicePixelRatio || 1;
    const width = Math.max(320, this.sk.figure.clientWidth || 800);
    return { theme: readTheme(this.root, this.probe), width, ratio };
  }

  /** The region on screen (the zoom; cross-attention: the whole slice). */
  visible(s: ViewState) {
    return visibleRegion(s, this.zoom.region(s.T));
  }

  /** What a paint of `entry` reads besides the traits: the pointer and the zoom. */
  sceneInput(state: ViewState, entry: Entry): SceneInput {
    const zoom = this.zoom.region(entry.T);
    return { ...this.pointer, state, entry, zoom, band: this.zoom.band };
  }

  /** New tokens or meta: no zoom or pointer; the strip's tokens and caption, the grid. */
  setTokens(s: ViewState): void {
    this.pointer = NO_POINTER;
    this.zoom.clear();
    this.strip.setTokens(s.tokens);
    this.sk.stripCaption.firstChild?.replaceWith(stripCaptionText(s));
    this.setScores(s);
  }

  /** The overview grid's sink scores. */
  setScores(s: ViewState): void {
    this.grid.setScores(s.sinkGrid, s.meta.n_layers, s.meta.n_heads, s.T);
  }

  /** Controls and captions for the traits. */
  show(s: ViewState): void {
    const { labels } = this.pointer;
    this.controls.update(controlState(s));
    this.segments.update(s.segment, s.pooled ? null : s.meta.segment_b_start, s.T);
    const shown = labels.length === s.T ? labels : s.tokens.map((t) => displayToken(t));
    this.steps.update(s.meta.prompt_len, s.T, s.selected, shown);
    this.sk.gridCaption.textContent = gridCaptionText(s.threshold);
  }

  /** The header; `loading` while the slice asked for is in flight. */
  header(s: ViewState, loading: boolean): void {
    renderHeader(this.sk.header, headerState(s, loading));
  }

  /** Draw a scene: the figure, then what aligns to it (strips, captions, readout). */
  paint(scene: Scene, pre: Measure, t0: number): void {
    const { theme, width } = pre;
    const { canvas, root } = this.sk;
    const hit = drawFigure(canvas, this.painters, { ...scene.figure, theme, width });
    this.hit = hit;
    const { labels, queryLabels } = scene.figure; // kept for the next paint
    this.pointer = { ...this.pointer, labels, queryLabels };
    canvas.setAttribute("aria-label", scene.aria);
    const c = scene.caption;
    this.zoom.caption(c.matrix, c.T, c.quant, c.pooled);
    this.strip.update(scene.strip.mask, scene.strip.selected);
    this.norms.update({ ...scene.norms, columns: columnsOf(hit, scene.figure.region) });
    this.grid.update(theme, scene.grid.eps, scene.grid.layer, scene.grid.head);
    renderReadout(this.sk.readout, readoutLines({ ...scene.readout, aggregatedBlock: hit.block }));
    root.dataset.paintMs = (performance.now() - t0).toFixed(2);
    // what is on screen, for tests and benchmarks: "layer|head|weighting:view", and a counter
    root.dataset.painted = scene.painted;
    root.dataset.paints = String(Number(root.dataset.paints ?? 0) + 1);
  }

  /** What the canvas shows before any slice has arrived. */
  placeholder(text: string, pre: Measure): void {
    placeholder(this.sk.canvas, pre.theme, pre.width, text);
  }

  dispose(): void {
    this.ro?.disconnect();
    this.unbindCanvas();
    this.zoom.dispose();
    this.root.ownerDocument.defaultView?.cancelAnimationFrame(this.frame);
    this.root.remove();
  }
}
