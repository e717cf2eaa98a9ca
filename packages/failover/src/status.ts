// The hot follower's status file, read by the kit's watcher without loading the follower itself.

/** Where the follower downloads the leader's files (inside DATA_PATH). */
export const FOLLOW_DIR = 'follow';
/** The follower's state for people and for the kit's watcher (DATA_PATH/follower.json). */
export const FOLLOWER_STATUS = 'follower.json';

export type FollowerState = 'connecting' | 'downloading' | 'following' | 'refused' | 'promoting' | 'leader' | 'stopped';

export interface FollowerStatus {
  state: FollowerState;
  /** Namespace loaded and every change seen from the leader applied: fit to be promoted. */
  synced: boolean;
  /** Next version our copy would log (the leader's metaversion when in step). */
  metaversion: string;
  /** Newest change version seen from the leader (stream, checksum replies). */
  seen: string;
  /** The leader speaks the mfs-ts extensions (acks, checksum); false for a real 3.0.117 master. */
  extensions: boolean | undefined;
  metaid: string | undefined;
  lastCheck: { at: number; ok: boolean; version: string } | undefined;
  downloads: number;
  note: string | undefined;
  /** ms since the epoch of this status. */
  at: number;
}
