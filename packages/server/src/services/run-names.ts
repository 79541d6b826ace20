import { randomInt } from 'node:crypto';

const ADJECTIVES = [
  'amber', 'ancient', 'autumn', 'bold', 'brave', 'bright', 'calm', 'clever', 'cool', 'crimson', 'crisp', 'dark',
  'dawn', 'deep', 'eager', 'early', 'fancy', 'fast', 'fierce', 'gentle', 'golden', 'grand', 'green', 'happy',
  'hidden', 'icy', 'jolly', 'keen', 'kind', 'late', 'lively', 'lucky', 'lunar', 'misty', 'noble', 'odd', 'orange',
  'patient', 'polar', 'proud', 'quiet', 'rapid', 'red', 'royal', 'rustic', 'shiny', 'silent', 'silver', 'solar',
  'steady', 'still', 'swift', 'tidy', 'vivid', 'warm', 'wild', 'wise', 'young', 'zesty',
];

const NOUNS = [
  'atom', 'aurora', 'badger', 'bay', 'boson', 'breeze', 'brook', 'canyon', 'cedar', 'comet', 'crane', 'delta',
  'dune', 'eagle', 'ember', 'falcon', 'fern', 'field', 'fjord', 'flux', 'forest', 'galaxy', 'glacier', 'grove',
  'harbor', 'heron', 'island', 'lagoon', 'lake', 'lattice', 'meadow', 'meson', 'mesa', 'moon', 'nebula', 'neutron',
  'oak', 'orbit', 'otter', 'photon', 'pine', 'plasma', 'pulsar', 'quark', 'quasar', 'reef', 'ridge', 'river',
  'sky', 'spark', 'spin', 'star', 'summit', 'tensor', 'tide', 'valley', 'vector', 'wave', 'willow', 'zephyr',
];

/** A readable run name such as `swift-quasar`; after collisions, a number is added (`swift-quasar-4821`). */
export function generateRunName(attempt: number): string {
  const base = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}-${NOUNS[randomInt(NOUNS.length)]}`;
  return attempt < 3 ? base : `${base}-${randomInt(10_000)}`;
}
