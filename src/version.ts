/** The bastion release, shown by `--version` and never sent to clients. */
export const VERSION = "0.1.0";
