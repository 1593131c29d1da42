/** Resolves after `ms` milliseconds: the bench's pauses between its phases. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
