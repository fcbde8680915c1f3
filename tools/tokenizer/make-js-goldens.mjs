#!/usr/bin/env node
// Writes tests/assets/tokenizer/js-oracle.json: strings and their LLaMA-3 ids according to llama3-tokenizer-js, an
// independent merge-rank BPE implementation (HF semantics, code-point regex). The C# tests compare against it.
// Usage: node tools/tokenizer/make-js-goldens.mjs path/to/unpacked/llama3-tokenizer-js/package
// Strings avoid "<|" (the package splits LLaMA-3.1 special-token names), U+FEFF (JavaScript's \s includes it,
// Unicode White_Space does not) and U+017F (JavaScript's pattern does not case-fold it).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = process.argv[2];
if (!pkg) throw new Error('pass the path of the unpacked llama3-tokenizer-js package');
const { default: tokenizer } = await import(path.resolve(pkg, 'bundle', 'llama3-tokenizer-with-baked-data.js'));

let seed = 12345;
const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const pick = a => a[Math.floor(rand() * a.length)];

const fixed = [
  'Hello world!', "I'm sure it's fine, isn't it? They'll say we'd've LEFT. 'S 'T 'Re 'VE 'M 'LL 'D",
  "'sam 'tis 're-do 'x '", 'a\r\nb\r\n\r\n  c\n\n\n   d', '  leading and trailing spaces   ', '\t\ttabs\tand\u000bvt\f',
  'x    \n    y', '   ', '\n', ' ', '', 'a  b   c    d', '12345678901234567890', '3.14159 + 2,718 = 5.85', '١٢٣٤٥ ٦٧٨', '½ ¼ ² ³ Ⅻ ⅷ',
  'The quick brown fox jumps over the lazy dog.', 'Ünïcödé façade naïve coöperate', 'Привет, как дела?', 'こんにちは世界。今日はいい天気ですね。',
  '中文分词测试：我们今天去公园。', '한국어 텍스트입니다', 'مرحبا بالعالم', 'שלום עולם', 'हिन्दी पाठ', 'ไทย ภาษา', 'Ελληνικά κείμενα',
  '🦙🦙🦙 llama 🦙', '👩‍👩‍👧‍👦 family ❤️ ✨🎉', '🇺🇸🇫🇷 flags', 'a🦙b', '𝐀𝐁𝐂abc 𝐱𝐲', '𠀀𠀁 ext-B 𠀂x', 'x𝟙𝟚𝟛y', '🦙Spanish', '\u00a0nbsp\u00a0\u00a0word\u3000ideo',
  'def f(x):\n    return x ** 2  # square\n\n\nclass A:\n\tpass\n', 'for (int i = 0; i < n; ++i) { sum += a[i]; }', '{"key": [1, 2, 3], "v": null}',
  '<image>\nWhat is this?', '<image_start><image><image_end>\nWhat is the letter on the robot?', '<pad><pad>', '< image >', '<imagE>', '<<image>>',
  'https://example.com/path?q=1&r=2#frag', 'email@example.org', '$$$ %%% ^^^ &&& ***', '...!!!???', '--- === +++', '\u2028line\u2029para\u0085nel',
  'x\u001cy\u001fz', 'e\u0301 combining', 'ﬁ ligature ﬀ', 'Coordinate: (0.52, 0.31). Mark: 12', '<|not special', 'tokens|> end',
];

const corpus = [];
for (const dir of ['/usr/share/doc', '/usr/share/common-licenses']) {
  if (!fs.existsSync(dir)) continue;
  const stack = [dir];
  while (stack.length && corpus.length < 120) {
    const p = stack.pop();
    let st; try { st = fs.statSync(p); } catch { continue; }
    if (st.isDirectory()) { for (const f of fs.readdirSync(p).sort()) stack.push(path.join(p, f)); continue; }
    if (!/(README|copyright|NEWS|\.txt|\.md)$/i.test(p) || st.size > 200000) continue;
    const text = fs.readFileSync(p, 'utf8');
    if (text.includes('\ufffd')) continue;
    const start = Math.floor(rand() * Math.max(1, text.length - 600));
    corpus.push(text.slice(start, start + 200 + Math.floor(rand() * 400)));
  }
}

const pieces = ['the', ' The', ' quick', "'s", "'LL", ' ', '  ', '\t', '\n', '\r\n', '\n\n', '   \n', '42', '1234567', ' 9', ',', '.', '!?', '...',
  '(', ')', '"', "'", '-', '_', '/', '\\', '😀', '🦙', '👍🏽', '中', '文', 'ж', 'é', 'ß', 'ẞ', 'İ', 'ı', 'Σ', 'ς', '𝐀', '𠀀', '١', '٣', '\u00a0', '\u2003',
  '\u3000', '\u200b', '\u200d', '<image>', '<pad>', '<image_start>', '<action>', 'x', 'Zz', '\u0301', '\u00ad', '€', '£', '©', '™', '→', '∑'];
const generated = [];
for (let i = 0; i < 250; i++) {
  let s = '';
  const n = 1 + Math.floor(rand() * 12);
  for (let k = 0; k < n; k++) s += pick(pieces);
  generated.push(s);
}
// Random code points from assigned, stable blocks (avoid surrogates and version-sensitive ranges).
const ranges = [[0x20, 0x7e], [0xa0, 0x24f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x5ff], [0x600, 0x6ff], [0x900, 0x97f],
  [0x3040, 0x30ff], [0x4e00, 0x9fa5], [0xac00, 0xd7a3], [0x2000, 0x206f], [0x1f600, 0x1f64f], [0x1d400, 0x1d4ff]];
for (let i = 0; i < 80; i++) {
  let s = '';
  const n = 1 + Math.floor(rand() * 20);
  for (let k = 0; k < n; k++) {
    const [a, b] = pick(ranges);
    const cp = a + Math.floor(rand() * (b - a + 1));
    if (cp === 0xfeff || cp === 0x17f) continue;
    s += rand() < 0.2 ? ' ' : String.fromCodePoint(cp);
  }
  generated.push(s);
}

const cases = [...fixed, ...corpus, ...generated]
  .filter(s => !s.includes('<|') && !s.includes('\ufeff') && !s.includes('\u017f'))
  .map(text => {
    // The package knows only LLaMA-3 special tokens, so encode Magma's added tokens here, as HF matches them first.
    const added = { '<pad>': 128256, '<image>': 128257, '<image_start>': 128258, '<image_end>': 128259, '<action>': 128260 };
    const ids = [];
    for (const part of text.split(/(<pad>|<image>|<image_start>|<image_end>|<action>)/)) {
      if (part in added) ids.push(added[part]);
      else if (part.length) ids.push(...tokenizer.encode(part, { bos: false, eos: false }));
    }
    return { text, ids };
  });
fs.writeFileSync(path.join(repoRoot, 'tests', 'assets', 'tokenizer', 'js-oracle.json'), JSON.stringify(cases) + '\n');
process.stderr.write(`wrote ${cases.length} cases\n`);
