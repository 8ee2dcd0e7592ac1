import { defineQuery, setHandler } from '@temporalio/workflow';

export type StepState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface StepProgress {
  name: string;
  state: StepState;
  detail?: string;
}

export interface ProgressSnapshot {
  operation: string;
  /** The step running now, or the last one when the workflow has ended. */
  current: string;
  steps: StepProgress[];
}

/** Every fraisier workflow answers this query with where it is; the CLI shows it while it waits. */
export const progressQuery = defineQuery<ProgressSnapshot>('progress');

/** Tracks the steps of one workflow run and exposes them through `progressQuery`. */
export class Progress {
  private readonly steps: StepProgress[];
  private current: string;

  constructor(
    private readonly operation: string,
    stepNames: readonly string[],
  ) {
    this.steps = stepNames.map((name) => ({ name, state: 'pending' }));
    this.current = stepNames[0] ?? '';
    setHandler(progressQuery, () => this.snapshot());
  }

  snapshot(): ProgressSnapshot {
    return { operation: this.operation, current: this.current, steps: this.steps.map((s) => ({ ...s })) };
  }

  start(name: string, detail?: string): void {
    this.current = name;
    this.set(name, 'running', detail);
  }

  note(detail: string): void {
    this.set(this.current, 'running', detail);
  }

  done(name: string, detail?: string): void {
    this.set(name, 'done', detail);
  }

  fail(name: string, detail: string): void {
    this.set(name, 'failed', detail);
  }

  skip(name: string, detail: string): void {
    this.set(name, 'skipped', detail);
  }

  /** Runs `body` as step `name`: running while it runs, then done, or failed when it throws. */
  async step<T>(name: string, body: () => Promise<T>, doneDetail?: (value: T) => string): Promise<T> {
    this.start(name);
    try {
      const value = await body();
      this.done(name, doneDetail?.(value));
      return value;
    } catch (err) {
      this.fail(name, err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  private set(name: string, state: StepState, detail?: string): void {
    let step = this.steps.find((s) => s.name === name);
    if (!step) {
      step = { name, state };
      this.steps.push(step);
    }
    step.state = state;
    if (detail !== undefined) step.detail = detail;
  }
}
