import { MainAreaWidget } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { filterRows, hparamsTable, sortRows } from './hparams';
import { runsIcon } from './icons';
import { formatValue } from './runs';
import type { RunsModel } from './runsModel';

/**
 * Main-area table of hparams sessions: one row per session run, its hyperparameters and final
 * metrics; click a header to sort (again to reverse), a regex filter, and ticking rows plots
 * their runs (`onPlot` with run names). Follows the runs model.
 */
export class HParamsPanel extends MainAreaWidget<Widget> {
  private sortBy = 'run';
  private descending = false;
  private readonly checked = new Set<string>();
  private readonly filter: HTMLInputElement;
  private readonly table: HTMLTableElement;

  constructor(
    private readonly model: RunsModel,
    private readonly onPlot: (runs: string[]) => void
  ) {
    super({ content: new Widget() });
    this.id = 'attn-widget-hparams';
    this.addClass('jp-AttnHParams');
    this.title.icon = runsIcon;
    this.title.label = 'HParams';
    this.title.closable = true;
    this.filter = this.content.node.appendChild(document.createElement('input'));
    Object.assign(this.filter, { type: 'search', placeholder: 'Filter sessions (regex)', className: 'jp-mod-styled jp-AttnHParams-filter' });
    this.filter.addEventListener('input', () => this.render());
    this.table = this.content.node.appendChild(document.createElement('table'));
    this.table.className = 'jp-AttnHParams-table';
    model.changed.connect(this.render, this);
    this.render();
  }

  private render(): void {
    const { hparams, metrics, rows } = hparamsTable(this.model.runs);
    const columns = ['run', ...hparams, ...metrics];
    const head = document.createElement('tr');
    head.appendChild(document.createElement('th'));
    for (const column of columns) {
      const th = head.appendChild(document.createElement('th'));
      th.textContent = column + (column === this.sortBy ? (this.descending ? ' ▼' : ' ▲') : '');
      th.dataset.column = column;
      th.classList.toggle('jp-mod-metric', metrics.includes(column));
      th.addEventListener('click', () => {
        this.descending = column === this.sortBy ? !this.descending : false;
        this.sortBy = column;
        this.render();
      });
    }
    const body = sortRows(filterRows(rows, this.filter.value), this.sortBy, this.descending).map(row => {
      const tr = document.createElement('tr');
      tr.dataset.run = row.run;
      const box = tr.appendChild(document.createElement('td')).appendChild(document.createElement('input'));
      box.type = 'checkbox';
      box.checked = this.checked.has(row.run);
      box.addEventListener('change', () => {
        if (box.checked) {
          this.checked.add(row.run);
        } else {
          this.checked.delete(row.run);
        }
        const plots = rows.filter(r => this.checked.has(r.run)).flatMap(r => r.plots);
        if (plots.length) {
          this.onPlot([...new Set(plots)]);
        }
      });
      for (const column of columns) {
        const value = column === 'run' ? row.run : row.cells[column];
        tr.appendChild(document.createElement('td')).textContent =
          typeof value === 'number' ? formatValue(value) : value === undefined || value === null ? '' : String(value);
      }
      return tr;
    });
    this.table.replaceChildren(head, ...body);
    if (!rows.length) {
      const empty = this.table.appendChild(document.createElement('caption'));
      empty.textContent = 'No hparams sessions in the listed runs (torch add_hparams or TensorBoard hparams records).';
    }
  }

  dispose(): void {
    this.model.changed.disconnect(this.render, this);
    super.dispose();
  }
}
