// The data layer's public API: datasets decoded once into a uint8 cache, and float batches cut from it.
export {
  loadDataset,
  validateResolution,
  imageAt,
  rangeSize,
  FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
  SHAPES_DEFAULT_COUNT,
  type Dataset,
  type IndexRange,
  type LoadOptions,
  type SplitInfo,
} from './dataset.js';
export { fnv1a32, stratifiedSplit, samplingOrder, interleave, SPLIT_RULES, type SplitRule, type StratifiedSplit } from './split.js';
export { parseBackground, describeBackground, WHITE, BLACK, type Rgb } from './decode.js';
export {
  readEmoji,
  findEmojiPackages,
  parseEmojiVendors,
  EMOJI_VENDORS,
  EMOJI_PACKAGES,
  EMOJI_INSTALL_COMMAND,
  EMOJI_DIR_ENV,
  type EmojiVendor,
  type EmojiPackage,
  type EmojiImages,
  type EmojiOptions,
} from './emoji.js';
export {
  BatchIterator,
  evalBatches,
  toUnitRange,
  resolveSplit,
  type Batch,
  type BatchOptions,
  type BatchIteratorState,
  type SplitName,
} from './batches.js';
export { readIdxImages, readIdxLabels, readIdxPair, encodeIdx, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, type IdxImages } from './idx.js';
export { readImageFolder, IMAGE_EXTENSIONS, type FolderImages, type FolderOptions } from './folder.js';
export {
  generateShapes,
  sampleShapeFactors,
  renderShapes,
  SHAPE_NAMES,
  SHAPE_COLOURS,
  SHAPE_SIZE_RANGE,
  type ShapeFactors,
  type ShapesOptions,
} from './shapes.js';
export { fitToResolution } from './resample.js';
export { summariseDataset, pixelStats, type DatasetSummary, type PixelStats, type ClassCount } from './summary.js';
