/**
 * The training-step slider of a widget over a run's attention snapshots (AttentionWidget.from_run):
 * one position per logged step (steps need not be evenly spaced); hidden when there are no steps.
 */

import { labelled } from './controls';

export class StepSlider {
  readonly el: HTMLLabelElement;
  private input = document.createElement('input');
  private shown = document.createElement('span');
  private steps: number[] = [];

  constructor(onStep: (step: number) => void) {
    this.input.type = 'range';
    this.input.className = 'aw-step';
    this.input.min = '0';
    this.input.title = 'Training step of the attention snapshot';
    this.shown.className = 'aw-step-value';
    this.el = labelled('Step', this.input);
    this.el.append(this.shown);
    this.input.addEventListener('input', () => {
      const step = this.steps[Number(this.input.value)];
      this.shown.textContent = String(step);
      onStep(step);
    });
  }

  /** Show `steps` with `step` selected (the kernel's values). */
  set(steps: number[], step: number): void {
    this.steps = steps;
    this.el.hidden = steps.length === 0;
    this.input.max = String(Math.max(0, steps.length - 1));
    const index = steps.indexOf(step);
    if (index >= 0) this.input.value = String(index);
    this.shown.textContent = String(step);
    this.input.setAttribute('aria-valuetext', `step ${step}`);
  }
}
