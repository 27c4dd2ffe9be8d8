/** All commands of the CLI, in the order `accord --help` lists them. */
import type { Command } from "commander";

export const commands: Array<(program: Command) => void> = [];
