import { Widget } from '@lumino/widgets';
import type { XAxis } from './charts';
import type { IChartOptions } from './scalarChart';

/** Toolbar controls of the scalars panel: regex tag filter, x axis, log y, ignore outliers. */
export class ChartOptionsBar extends Widget {
  private readonly filter: HTMLInputElement;
  private readonly axis: HTMLSelectElement;
  private readonly logY: HTMLInputElement;
  private readonly robust: HTMLInputElement;

  constructor(onChange: () => void) {
    super();
    this.addClass('jp-AttnScalars-options');
    this.filter = this.node.appendChild(document.createElement('input'));
    Object.assign(this.filter, { type: 'search', placeholder: 'Filter tags (regex)', className: 'jp-mod-styled jp-AttnScalars-tagFilter' });
    this.filter.addEventListener('input', onChange);
    const axisLabel = this.node.appendChild(document.createElement('label'));
    axisLabel.className = 'jp-AttnScalars-axisLabel';
    axisLabel.append('x axis');
    this.axis = axisLabel.appendChild(document.createElement('select'));
    this.axis.className = 'jp-mod-styled jp-AttnScalars-axis';
    // the relative axis picks its unit (s, min, h, d) from the time the runs span
    this.axis.append(new Option('Step', 'step'), new Option('Relative time', 'relative'), new Option('Wall time', 'wall'));
    this.axis.addEventListener('change', onChange);
    const check = (label: string, className: string) => {
      const wrap = this.node.appendChild(document.createElement('label'));
      wrap.className = className;
      const box = wrap.appendChild(document.createElement('input'));
      box.type = 'checkbox';
      box.addEventListener('change', onChange);
      wrap.append(label);
      return box;
    };
    this.logY = check('Log y', 'jp-AttnScalars-logy');
    this.robust = check('Ignore outliers', 'jp-AttnScalars-robust');
  }

  get tagFilter(): string {
    return this.filter.value;
  }

  get options(): IChartOptions {
    return { axis: this.axis.value as XAxis, logY: this.logY.checked, ignoreOutliers: this.robust.checked };
  }
}
