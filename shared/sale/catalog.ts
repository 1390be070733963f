import type { NewItem } from "./create.js";

// Generated merchandise for the hourly sale: stable names per item number, so
// the same item id looks the same every hour.
const ADJECTIVES = ["Swift", "Quiet", "Bright", "Bold", "Tiny", "Grand", "Lucky", "Vivid", "Calm", "Brisk"];
const NOUNS = [
  "Kettle",
  "Lamp",
  "Backpack",
  "Headphones",
  "Watch",
  "Mug",
  "Speaker",
  "Jacket",
  "Camera",
  "Bike",
];

export function generateItems(count: number, stockPerItem: number): NewItem[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    const name = `${ADJECTIVES[n % ADJECTIVES.length]} ${NOUNS[Math.floor(n / ADJECTIVES.length) % NOUNS.length]} #${n}`;
    return {
      itemId: String(n),
      name,
      imageUrl: `https://picsum.photos/seed/flash-${n}/400/400`,
      stock: stockPerItem,
    };
  });
}
