import { AgentError, ExitCode } from "../errors.js";

/** Bad command-line usage: exit 2. */
export class UsageError extends AgentError {
  constructor(message: string) {
    super(message, ExitCode.Usage);
  }
}
