/** A tenant's two separate worlds: live data and test data never meet (API.md §1.3). */
export type Environment = 'live' | 'test'
