#!/usr/bin/env bash
# Packs what the torch backend needs on a GPU machine that has PyTorch + CUDA but no Node.js into
# .devkit/torch-kit.tar.xz (git-ignored), small enough to travel with the working tree (≤ 64 MiB):
#   bin/node              the Node binary that runs here
#   node_modules/         the production dependencies, without the browser-only ones (webgpu's Dawn,
#                         puppeteer-core and its protocol packages) and without source maps
#   dist/                 the built project (run `npm run build` first)
#   napi-headers/         the four N-API headers the addon's g++ line needs (node_api*.h, js_native_api*.h)
#   emoji/                with --emoji: the emoji data set's package roots trimmed to what lia reads
#                         (emoji.json and the 64×64 images of the emoji it uses); point LIA_EMOJI_DIR at
#                         emoji/google:emoji/twitter after unpacking
# --dist-only writes only .devkit/dist (the built project without tests and maps), a newer build to
# send beside an existing kit.
# On the GPU machine (scripts/device-cuda.sh does this itself when it finds the kit):
#   mkdir -p /tmp/kit && tar -xJf .devkit/torch-kit.tar.xz -C /tmp/kit && export PATH=/tmp/kit/bin:$PATH
# ../shared/device/make-kit.sh makes the larger kit with webgpu for the tfjs webgpu backend.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
emoji=0
dist_only=0
for a in "$@"; do
  case $a in
    --emoji) emoji=1 ;;
    --dist-only) dist_only=1 ;;
    *) echo "device-kit: unknown option '$a' (expected --emoji or --dist-only)" >&2; exit 2 ;;
  esac
done
[ -f dist/cli.js ] || { echo "device-kit: no dist/cli.js (run npm run build first)" >&2; exit 1; }
# --dist-only: just the built project, without tests and source maps, into .devkit/dist (a few MB),
# to send a newer build beside an existing kit (scripts/device-run.sh prefers it).
if [ "$dist_only" = 1 ]; then
  rm -rf .devkit/dist && mkdir -p .devkit
  (cd dist && find . -type f \( -name '*.js' ! -name '*.test.js' -o -path './web/*' \) -print0 | tar --null -cf - -T -) | (mkdir -p .devkit/dist && tar -xf - -C .devkit/dist)
  du -sh .devkit/dist | sed 's/^/device-kit: /'
  exit 0
fi
grep -qxF '/.devkit/' .git/info/exclude 2>/dev/null || { mkdir -p .git/info && echo '/.devkit/' >>.git/info/exclude; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/napi-headers" .devkit
cp "$(command -v node)" "$stage/bin/node"
node_inc=$(dirname "$(command -v node)")/../include/node
for h in node_api.h node_api_types.h js_native_api.h js_native_api_types.h; do
  cp "$node_inc/$h" "$stage/napi-headers/" 2>/dev/null || cp "/usr/include/node/$h" "$stage/napi-headers/"
done

cp package.json package-lock.json "$stage/"
(cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
nm=$stage/node_modules
rm -rf "$nm/webgpu" "$nm/puppeteer-core" "$nm/chromium-bidi" "$nm/devtools-protocol"
# (more below)
find "$nm" -name '*.map' -delete
# Node loads each tfjs package through its "main", a single dist/*.node.js bundle: the browser
# bundles and the per-file ESM trees beside it are never loaded here (the wasm backend keeps its
# .wasm binaries and worker script).
for pkg in "$nm"/@tensorflow/*/; do
  find "$pkg/dist" -type f ! -name '*.node.js' ! -name '*.wasm' ! -name '*worker*' -delete 2>/dev/null || true
  find "$pkg/dist" -type d -empty -delete 2>/dev/null || true
done
# What only puppeteer-core pulled in.
rm -rf "$nm"/@puppeteer "$nm"/bare-* "$nm"/zod "$nm"/ast-types "$nm"/@tootallnate "$nm"/proxy-agent "$nm"/pac-* "$nm"/tar-fs "$nm"/@types
# node-addon-api's headers build the addon there.
cp -r node_modules/node-addon-api "$nm/" 2>/dev/null || true
cp -r dist "$stage/dist"
rm -f "$stage"/dist/**/*.map 2>/dev/null || true
find "$stage/dist" -name '*.map' -delete

if [ "$emoji" = 1 ]; then
  node --input-type=module - "$stage/emoji" <<'EOF'
import { readFileSync, mkdirSync, copyFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
const out = process.argv[2];
const require = createRequire(join(process.cwd(), 'package.json'));
let files = 0;
for (const vendor of ['google', 'twitter']) {
  let root;
  try { root = dirname(require.resolve(`emoji-datasource-${vendor}/package.json`)); }
  catch { console.error(`device-kit: emoji-datasource-${vendor} is not installed (npm install --no-save emoji-datasource-google emoji-datasource-twitter)`); process.exit(1); }
  const dst = join(out, vendor);
  mkdirSync(join(dst, 'img', vendor, '64'), { recursive: true });
  copyFileSync(join(root, 'emoji.json'), join(dst, 'emoji.json'));
  copyFileSync(join(root, 'package.json'), join(dst, 'package.json'));
  for (const e of JSON.parse(readFileSync(join(root, 'emoji.json'), 'utf8'))) {
    const src = join(root, 'img', vendor, '64', e.image);
    if (e[`has_img_${vendor}`] && existsSync(src)) { copyFileSync(src, join(dst, 'img', vendor, '64', e.image)); files++; }
  }
}
console.log(`device-kit: ${files} emoji images`);
EOF
fi

tar -C "$stage" -cf - . | xz -T2 -6 >.devkit/torch-kit.tar.xz.tmp
mv .devkit/torch-kit.tar.xz.tmp .devkit/torch-kit.tar.xz
du -sh .devkit/torch-kit.tar.xz | sed 's/^/device-kit: /'
