// The repository explains itself: its text files cite no document outside it, and every
// `docs/….md` (or relative Markdown link) they cite exists, with the `#anchor` a heading of that
// file produces. The files scanned are git's (tracked, plus new ones not ignored) under the
// project's own folders; this file is left out of the pattern scan, since it spells the patterns.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SELF = 'test/self-contained.test.ts';
const SCOPE = /^(lib|native|bench|configs|scripts|examples|test|docs|\.ci)\/|^[^/]+\.(js|ts|md|json|txt|gyp)$|^CMakeLists\.txt$/;
const BINARY = /\.(png|jpe?g|webp|gif|safetensors|npz|npy|pkl|pt|pth|bin|gz|u8|node|so|zip)$/i;

/** References to documents that live outside the repository. */
const OUTSIDE: [RegExp, string][] = [
  [/\bSPEC\b/, 'cites the SPEC (put the fact in docs/ and cite that)'],
  [/NOTES-libtorch/, 'cites NOTES-libtorch (see docs/libtorch.md)'],
  [/\.\.\/shared\b/, 'names ../shared, a folder outside the repository'],
  [/\/work\//, 'names a /work/ path of one machine'],
];

function gitFiles(): string[] | null {
  try {
    const out = execFileSync('git', ['-C', ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    return [...new Set(out.split('\0').filter(Boolean))].sort();
  } catch {
    return null;
  }
}

function textFiles(files: string[]): { path: string; lines: string[] }[] {
  const out: { path: string; lines: string[] }[] = [];
  for (const f of files) {
    if (!SCOPE.test(f) || BINARY.test(f)) continue;
    const abs = join(ROOT, f);
    if (!existsSync(abs) || !statSync(abs).isFile()) continue; // deleted in the work tree, or a link to a folder
    const buf = readFileSync(abs);
    if (buf.subarray(0, 8192).includes(0)) continue;
    out.push({ path: f, lines: buf.toString('utf8').split('\n') });
  }
  return out;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      fence = !fence;
      continue;
    }
    const m = fence ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = m[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/<[^>]+>/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let a = anchorCache.get(file);
  if (!a) {
    a = headingAnchors(readFileSync(join(ROOT, file), 'utf8'));
    anchorCache.set(file, a);
  }
  return a;
}

/** What is wrong with a cited doc target (repository-relative path, optional anchor), or null. */
function checkTarget(target: string, anchor: string | undefined): string | null {
  if (target.startsWith('..') || !existsSync(join(ROOT, target))) return `cites ${target}, which does not exist`;
  if (anchor && !anchorsOf(target).has(anchor)) return `cites ${target}#${anchor}, but no heading of ${target} gives that anchor`;
  return null;
}

const files = gitFiles();

test('no file cites a document outside the repository', (t) => {
  if (!files) {
    t.skip('not a git checkout (git ls-files failed)');
    return;
  }
  const hits: string[] = [];
  for (const { path, lines } of textFiles(files)) {
    if (path === SELF) continue;
    lines.forEach((line, i) => {
      for (const [re, why] of OUTSIDE) if (re.test(line)) hits.push(`${path}:${i + 1}: ${why}: ${line.trim().slice(0, 120)}`);
    });
  }
  assert.ok(hits.length === 0, `${hits.length} reference(s) outside the repository:\n${hits.join('\n')}`);
});

test('every cited docs/ file and heading exists', (t) => {
  if (!files) {
    t.skip('not a git checkout (git ls-files failed)');
    return;
  }
  const bad: string[] = [];
  let checked = 0;
  for (const { path, lines } of textFiles(files)) {
    const isMd = path.endsWith('.md');
    lines.forEach((line, i) => {
      const where = `${path}:${i + 1}`;
      // docs/….md paths written out (code, comments, configs, any Markdown): from the repository root
      for (const m of line.matchAll(/(?<![\w./-])docs\/[\w./-]*?\.md(?:#([\w-]+))?/g)) {
        const [target] = m[0].split('#');
        const err = checkTarget(target, m[1]);
        checked++;
        if (err) bad.push(`${where}: ${err}`);
      }
      // Markdown links between the docs: relative to the linking file
      if (!isMd) return;
      for (const m of line.matchAll(/\]\(([^)\s]*)\)/g)) {
        const href = m[1];
        if (/^[a-z]+:/i.test(href)) continue; // http:, https:, mailto:
        const [file, anchor] = href.split('#');
        if (file && !file.endsWith('.md')) {
          if (!existsSync(join(ROOT, dirname(path), file))) bad.push(`${where}: links ${href}, which does not exist`);
          continue;
        }
        const target = file ? normalize(relative(ROOT, join(ROOT, dirname(path), file))) : path;
        const err = checkTarget(target, anchor);
        checked++;
        if (err) bad.push(`${where}: ${err}`);
      }
    });
  }
  assert.ok(checked > 0, 'no doc citations found: the scan itself is broken');
  assert.ok(bad.length === 0, `${bad.length} broken doc citation(s):\n${bad.join('\n')}`);
});

test('heading anchors follow GitHub: lower case, punctuation dropped, repeats numbered', () => {
  const a = headingAnchors('# Memory\n## GC safety net\n## `torch.scope` and keep()\n```\n# not a heading\n```\n## GC safety net\n');
  assert.deepEqual([...a], ['memory', 'gc-safety-net', 'torchscope-and-keep', 'gc-safety-net-1']);
});
