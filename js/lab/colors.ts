/**
 * Run colours: 24 hues 15° apart with alternating lightness (so hue neighbours also differ in
 * lightness), saturated enough for light and dark themes. See `RunColors` for who gets which.
 */
export const RUN_COLORS = Array.from({ length: 24 }, (_, i) => `hsl(${i * 15}, 80%, ${i % 2 ? 58 : 40}%)`);

/**
 * Colours of runs, kept for the session: each run gets the next colour not yet given, in order of
 * first appearance (runs arrive sorted by name), and keeps it in the sidebar and every chart.
 * The first 24 runs seen never share a colour.
 */
export class RunColors {
  private readonly given = new Map<string, string>();

  /** Give colours to the runs not seen before (call with each new listing). */
  assign(names: string[]): void {
    for (const name of names) {
      if (!this.given.has(name)) {
        this.given.set(name, RUN_COLORS[this.given.size % RUN_COLORS.length]);
      }
    }
  }

  /** The colour of run `name` (given on first use if it has none yet). */
  colorOf(name: string): string {
    this.assign([name]);
    return this.given.get(name)!;
  }
}
