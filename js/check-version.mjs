// package.json's version must follow the Python package's, which is the one released
// (attn_widget.__version__, which pyproject.toml's version also reads).
import { readFileSync } from 'node:fs';

const python = /^__version__\s*=\s*"([^"]+)"/m.exec(readFileSync('attn_widget/__init__.py', 'utf8'))?.[1];
const js = JSON.parse(readFileSync('package.json', 'utf8')).version;
if (!python) throw new Error('attn_widget/__init__.py: no __version__ = "…" line');
if (js !== python) {
  console.error(`package.json version ${js} differs from attn_widget.__version__ ${python}: set package.json's to ${python}`);
  process.exit(1);
}
