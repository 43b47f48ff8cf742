/** A setting that cannot be used. `field` is the TrainConfig key at fault ('betas' for beta1/beta2). */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    /** What is wrong, without the field's name. */
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'FieldError';
  }
}
