import { Widget } from '@lumino/widgets';

/** Toolbar slider for TensorBoard-style smoothing (EMA weight 0 … 0.99). */
export class SmoothingSlider extends Widget {
  private readonly input: HTMLInputElement;

  constructor(value: number, onChange: (weight: number) => void) {
    super({ node: document.createElement('label') });
    this.addClass('jp-AttnScalars-smoothing');
    this.node.append('Smoothing');
    this.input = this.node.appendChild(document.createElement('input'));
    Object.assign(this.input, { type: 'range', min: '0', max: '0.99', step: '0.01' });
    this.input.value = String(value);
    this.input.setAttribute('aria-label', 'Smoothing');
    const output = this.node.appendChild(document.createElement('output'));
    output.textContent = value.toFixed(2);
    this.input.addEventListener('input', () => {
      output.textContent = this.value.toFixed(2);
      onChange(this.value);
    });
  }

  get value(): number {
    return this.input.valueAsNumber;
  }
}
