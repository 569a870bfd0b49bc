/** What opens a received file for the user (Electron's shell); the host has none of its own. */
export interface FileOpener {
  /** Resolves with an error message, or '' when the file was opened (shell.openPath's contract). */
  open(path: string): Promise<string>;
  show(path: string): void;
}
