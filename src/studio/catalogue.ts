// What the studio's server lists at /models/index.json and the page reads (platform-free types).

/** One model of the catalogue, with the URLs of its files. */
export interface CatalogueEntry {
  id: string;
  title: string;
  model: string;
  directions?: string;
  samples: string[];
  manifest: Record<string, unknown>;
  /** Set when the model folder cannot be offered (a broken manifest, …): the page lists it with this message. */
  error?: string;
}
