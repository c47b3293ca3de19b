// Placeholder until the private network lands.
export default function setup(): void {}
