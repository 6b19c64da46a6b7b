/**
 * A backend plugin imports runtime helpers from `receptor-mesh`, declared as an optional
 * peer dependency (npm must not fetch a second core). The host satisfies it with itself: it
 * links `<dataDir>/node_modules/receptor-mesh` to the running package before it loads the
 * plugins `receptor plugins install` put there, so they share this process's one core,
 * offline, whatever npm did to that folder since.
 */
import {readlinkSync, renameSync, rmSync, symlinkSync} from 'node:fs';
import {join, resolve} from 'node:path';

export function linkHostPackage(dataDir: string, root: string, name: string): void {
  const link = join(dataDir, 'node_modules', name);
  try {
    if (resolve(dataDir, 'node_modules', readlinkSync(link)) === resolve(root)) return;
  } catch (err) {
    // EINVAL: a real folder (a copy the user installed on purpose) stays
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return;
  }
  const tmp = `${link}.${process.pid}.tmp`;
  try {
    symlinkSync(resolve(root), tmp, 'dir');
    renameSync(tmp, link); // atomic: a concurrent start sees the old link or the new one
  } catch {
    // a read-only data folder: the plugin's import fails and names the package
    rmSync(tmp, {force: true});
  }
}
