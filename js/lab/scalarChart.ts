import uPlot from 'uplot';
import type { IScalarSeries } from './api';
import { nonFinite, relativeSpan, relativeUnit, robustRange, runSeries, type XAxis, xAxisLabel, xValues, zoomedRange } from './charts';
import { formatValue as formatNumber } from './runs';
import { emaSmooth } from './smoothing';

/** How a chart draws its axes (toolbar of the scalars panel). */
export interface IChartOptions {
  axis: XAxis;
  logY: boolean;
  /** y range from the 1st–99th percentiles instead of min–max. */
  ignoreOutliers: boolean;
  /** x range to show at first (a zoom kept across a reload); null: all the data. */
  xRange?: [number, number] | null;
}

function cssVar(name: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim();
}

export interface IChartRun {
  run: string;
  color: string;
  series: IScalarSeries;
}

const HEIGHT = 220;

function formatValue(_u: uPlot, v: number | null): string {
  return v === null || v === undefined ? '–' : formatNumber(v);
}

/**
 * One uPlot chart of a tag, runs overlaid: per run a bold smoothed line over its faded raw line,
 * one legend entry per run (hiding it hides both). x is the step, relative time (its unit from the
 * span) or wall time; y linear or log, over min–max or ignoring outliers. NaN and ±inf cannot be drawn: they are counted beside the title, per kind. Drag to zoom, double-click
 * to reset, hover for values (legend); cursors sync across charts that share `syncKey`.
 */
export class ScalarChart {
  readonly node: HTMLElement;
  private plot: uPlot;
  private readonly xOf: (series: IScalarSeries) => number[];

  constructor(
    readonly tag: string,
    private runs: IChartRun[],
    weight: number,
    syncKey: string,
    private readonly options: IChartOptions = { axis: 'step', logY: false, ignoreOutliers: false }
  ) {
    this.node = document.createElement('section');
    this.node.className = 'jp-AttnScalars-chart';
    this.node.dataset.tag = tag;
    const title = this.node.appendChild(document.createElement('h3'));
    title.textContent = tag;
    const odd = runs.map(r => nonFinite(r.series.values));
    const counts = [
      ['NaN', odd.reduce((n, c) => n + c.nan, 0)],
      ['+inf', odd.reduce((n, c) => n + c.posInf, 0)],
      ['−inf', odd.reduce((n, c) => n + c.negInf, 0)]
    ].filter(([, n]) => n);
    if (counts.length) {
      const badge = this.node.appendChild(document.createElement('div'));
      badge.className = 'jp-AttnScalars-nonfinite';
      badge.textContent = counts.map(([kind, n]) => `${kind} ×${n}`).join(' · ');
      badge.title = runs.map((r, i) => `${r.run}: NaN ${odd[i].nan}, +inf ${odd[i].posInf}, −inf ${odd[i].negInf}`).join('\n');
    }
    const robust = options.ignoreOutliers ? robustRange(runs.map(r => r.series.values)) : null;
    const fg = cssVar('--jp-ui-font-color2');
    const grid = cssVar('--jp-border-color2');
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const unit = relativeUnit(relativeSpan(runs.map(r => r.series)));
    this.xOf = s => xValues(s, options.axis, unit);
    const series = runSeries(runs).map(s => ({ ...s, spanGaps: true, value: formatValue }));
    const xLabel = xAxisLabel(options.axis, unit);
    this.plot = new uPlot(
      {
        width: 400,
        height: HEIGHT,
        cursor: { sync: { key: syncKey }, drag: { x: true, y: false } },
        scales: {
          x: { time: options.axis === 'wall' },
          y: { distr: options.logY ? 3 : 1, ...(robust && !options.logY ? { range: () => robust } : {}) }
        },
        axes: [
          { ...axis, label: xLabel, labelSize: 20 },
          { ...axis, size: 60 }
        ],
        series: [{ label: xLabel }, ...series],
        hooks: {
          // a run's legend entry (its smoothed line, after its raw one: see runSeries) shows or hides both
          setSeries: [(u, i, opts) => i !== null && i % 2 === 0 && opts.show !== undefined && u.setSeries(i - 1, { show: opts.show })]
        }
      },
      this.data(weight),
      this.node
    );
    if (options.xRange) {
      this.plot.setScale('x', { min: options.xRange[0], max: options.xRange[1] });
    }
  }

  /** The x range the user zoomed to; null when the chart shows all its data. */
  get zoom(): [number, number] | null {
    const xs = this.plot.data[0];
    return zoomedRange(this.plot.scales.x, xs.length ? [xs[0], xs[xs.length - 1]] : null);
  }

  private data(weight: number): uPlot.AlignedData {
    const log = this.options.logY;
    const gaps = (v: number) => (Number.isFinite(v) && (!log || v > 0) ? v : null);
    return uPlot.join(this.runs.map(({ series: s }) => [this.xOf(s), s.values.map(gaps), Array.from(emaSmooth(s.values, weight), gaps)]));
  }

  /** Redraw with another smoothing weight, keeping the current zoom. */
  setSmoothing(weight: number): void {
    this.plot.setData(this.data(weight), false); // false: keep the zoom, but then no redraw
    this.plot.redraw();
  }

  /** Call `pick` with the x value (step on a step axis) under the cursor when the plot is clicked. */
  onPick(pick: (x: number) => void): void {
    this.plot.over.addEventListener('click', () => {
      const left = this.plot.cursor.left;
      if (left !== undefined && left >= 0) {
        pick(this.plot.posToVal(left, 'x'));
      }
    });
  }

  setWidth(width: number): void {
    this.plot.setSize({ width, height: HEIGHT });
  }

  dispose(): void {
    this.plot.destroy();
  }
}
