// package.json's version must follow the Python package's (pyproject.toml), which is the one that is released.
import { readFileSync } from 'node:fs';

const python = /^version\s*=\s*"([^"]+)"/m.exec(readFileSync('pyproject.toml', 'utf8'))?.[1];
const js = JSON.parse(readFileSync('package.json', 'utf8')).version;
if (!python) throw new Error('pyproject.toml: no [project] version = "…" line');
if (js !== python) {
  console.error(`package.json version ${js} differs from pyproject.toml's ${python}: set package.json's to ${python}`);
  process.exit(1);
}
