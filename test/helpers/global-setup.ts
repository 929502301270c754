// Placeholder replaced by the Kafka broker selection (see issue 2 item 9).
export default async function setup(): Promise<void> {}
