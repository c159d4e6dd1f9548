import uPlot from 'uplot';
import type { IScalarSeries } from './api';
import { emaSmooth } from './smoothing';

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
  return v === null || v === undefined ? '–' : Number(v.toPrecision(5)).toString();
}

/**
 * One uPlot chart of a tag, runs overlaid: per run a bold smoothed line and its faded raw line.
 * Drag to zoom on steps, double-click to reset, hover for values (legend); cursors sync across
 * charts that share `syncKey`.
 */
export class ScalarChart {
  readonly node: HTMLElement;
  private plot: uPlot;

  constructor(
    readonly tag: string,
    private runs: IChartRun[],
    weight: number,
    syncKey: string
  ) {
    this.node = document.createElement('section');
    this.node.className = 'jp-AttnScalars-chart';
    this.node.dataset.tag = tag;
    const title = this.node.appendChild(document.createElement('h3'));
    title.textContent = tag;
    const fg = cssVar('--jp-ui-font-color2');
    const grid = cssVar('--jp-border-color2');
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const series = runs.flatMap(({ run, color: stroke }) => {
      return [
        { label: run, stroke, width: 2, spanGaps: true, value: formatValue },
        { label: `${run} (raw)`, stroke, width: 1, alpha: 0.3, spanGaps: true, value: formatValue }
      ];
    });
    this.plot = new uPlot(
      {
        width: 400,
        height: HEIGHT,
        cursor: { sync: { key: syncKey }, drag: { x: true, y: false } },
        scales: { x: { time: false } },
        axes: [axis, { ...axis, size: 60 }],
        series: [{ label: 'step' }, ...series]
      },
      this.data(weight),
      this.node
    );
  }

  private data(weight: number): uPlot.AlignedData {
    const gaps = (v: number) => (Number.isFinite(v) ? v : null);
    return uPlot.join(
      this.runs.map(({ series: s }) => [s.steps, Array.from(emaSmooth(s.values, weight), gaps), s.values.map(gaps)])
    );
  }

  /** Redraw with another smoothing weight, keeping the current zoom. */
  setSmoothing(weight: number): void {
    this.plot.setData(this.data(weight), false); // false: keep the zoom, but then no redraw
    this.plot.redraw();
  }

  setWidth(width: number): void {
    this.plot.setSize({ width, height: HEIGHT });
  }

  dispose(): void {
    this.plot.destroy();
  }
}
