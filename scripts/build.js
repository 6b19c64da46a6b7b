#!/usr/bin/env node
// Build: compile TypeScript, generate oclif.manifest.json, build the example plugin.
import {execFileSync} from 'node:child_process';
import {lstatSync, mkdirSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const run = (args) => execFileSync(process.execPath, args, {cwd: root, stdio: 'inherit'});

rmSync(join(root, 'dist'), {recursive: true, force: true});
rmSync(join(root, 'oclif.manifest.json'), {force: true});
run([tsc, '-p', 'tsconfig.json']);

// The manifest lets oclif list and route commands without importing every command file.
const {Plugin} = await import('@oclif/core');
const plugin = new Plugin({root, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true});
await plugin.load();
writeFileSync(join(root, 'oclif.manifest.json'), JSON.stringify(plugin.manifest, null, 2) + '\n');
console.log(`oclif.manifest.json: ${Object.keys(plugin.manifest.commands).length} commands`);

// The example plugin depends on this checkout (devDependency "receptor-mesh": "file:../..");
// link it as `npm install` in the example would, without a registry.
const example = join(root, 'examples', 'receptor-plugin-example');
const link = join(example, 'node_modules', 'receptor-mesh');
try {
  lstatSync(link);
} catch {
  mkdirSync(dirname(link), {recursive: true});
  symlinkSync(join('..', '..', '..'), link, 'dir');
}
run([tsc, '-p', join(example, 'tsconfig.json')]);
