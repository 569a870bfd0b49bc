/** Tables of the registry (both dialects). Times are epoch milliseconds; booleans are 0/1. */

export interface ChallengeTable {
  nonce: string;
  user_id: string;
  expires_at: number;
}

export interface TokenTable {
  /** sha256 of the token: a copy of the database does not hand out working tokens. */
  token_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
}

export interface PeerTable {
  network_id: string;
  user_id: string;
  device_id: string;
  signal_addr: string | null;
  /** JSON array of strings. */
  signal_addrs: string;
  /** JSON array of userIds. */
  coordinators: string;
  can_relay: number;
  coordinator: number;
  /** The announce's own signed ts: an older announce never overwrites a newer one. */
  announced_at: number;
  last_seen: number;
  expires_at: number;
}

export interface CoordinatorTable {
  network_id: string;
  user_id: string;
  device_id: string;
  signal_addr: string | null;
  peers: number;
  stored: number;
  announced_at: number;
  last_seen: number;
  expires_at: number;
}

export interface RegistryDatabase {
  auth_challenges: ChallengeTable;
  auth_tokens: TokenTable;
  peers: PeerTable;
  coordinators: CoordinatorTable;
}

