#ifndef POWER_LOSS_VFS_H
#define POWER_LOSS_VFS_H

/// A SQLite VFS for tests that simulates losing power.
///
/// It wraps the default VFS and becomes the default itself. For files whose path starts
/// with the tracked prefix it remembers, for every write, truncation not yet synced, the
/// bytes it replaced. A power cut puts those bytes back (newest first) and the file's size
/// back to what it was at its last sync, optionally keeping the first half of the last
/// unsynced write (a torn page); from then on every write, sync and read of a tracked file
/// fails, so the connections still open cannot change "the disk" any more. Files outside
/// the prefix pass straight through. One prefix at a time: a test using it runs alone.

/// Registers the VFS as the default (once; later calls do nothing). 0 on success.
int plvfs_install(void);

/// Tracks files under `prefix` from now on (a copy is kept), forgetting everything about
/// earlier ones: nothing unsynced, no cut, no armed cut, the operation count at 0.
void plvfs_track(const char *prefix);

/// Cuts the power when the `operation`-th write, sync or truncation of a tracked file
/// starts (1 is the next one), before it happens; tears the last unsynced write if `tear`.
/// 0 disarms.
void plvfs_arm(long long operation, int tear);

/// Cuts the power now (if it is not cut already); tears the last unsynced write if `tear`.
void plvfs_cut(int tear);

/// Whether the power is cut.
int plvfs_is_cut(void);

/// Writes, syncs and truncations of tracked files since plvfs_track.
long long plvfs_operations(void);

/// Unsynced writes and truncations the cut undid.
long long plvfs_dropped(void);

#endif
