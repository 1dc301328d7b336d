#include "PowerLossVFS.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One write or truncation not yet synced: the bytes it replaced. */
typedef struct Undo {
    sqlite3_int64 offset;
    int size;              /* bytes in `old` */
    int written;           /* bytes the write wrote (0 for a truncation) */
    unsigned char *old;
    struct Undo *next;     /* older */
} Undo;

/* A tracked path: its size at the last sync and what was written since. */
typedef struct Path {
    char *name;
    sqlite3_int64 syncedSize;
    Undo *undo;            /* newest first */
    struct Path *next;
} Path;

typedef struct File {
    sqlite3_file base;
    char *name;            /* NULL for temporary files */
    sqlite3_file *real;    /* follows this struct */
} File;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite3_vfs *inner;
static sqlite3_vfs vfs;
static char *prefix;
static Path *paths;
static Path *lastWritten;  /* the path of the newest unsynced write, for tearing */
static atomic_int cut;  /* read without the lock on every read of every file */
static long long operations, armedAt, dropped;
static int armedTear;

static int tracked(const File *file) {
    return file->name != NULL && prefix != NULL && strncmp(file->name, prefix, strlen(prefix)) == 0;
}

static void freeUndo(Undo *undo) {
    while (undo) {
        Undo *older = undo->next;
        free(undo->old);
        free(undo);
        undo = older;
    }
}

static Path *pathOf(File *file) {
    for (Path *path = paths; path; path = path->next) {
        if (strcmp(path->name, file->name) == 0) return path;
    }
    Path *path = calloc(1, sizeof(Path));
    path->name = strdup(file->name);
    sqlite3_int64 size = 0;
    file->real->pMethods->xFileSize(file->real, &size);
    path->syncedSize = size;  /* what was there before tracking began counts as on disk */
    path->next = paths;
    paths = path;
    return path;
}

/* Puts every tracked file back as it was at its last sync. Called with the lock held. */
static void cutNow(int tear) {
    if (cut) return;
    cut = 1;
    for (Path *path = paths; path; path = path->next) {
        int descriptor = open(path->name, O_RDWR);
        if (descriptor < 0) continue;
        sqlite3_int64 size = path->syncedSize;
        for (Undo *undo = path->undo; undo; undo = undo->next) {
            int keep = 0;
            if (tear && path == lastWritten && undo == path->undo && undo->written > 1) {
                keep = undo->written / 2;  /* the first half reached the disk */
                if (undo->offset + keep > size) size = undo->offset + keep;
            }
            if (undo->size > keep) {
                (void)!pwrite(descriptor, undo->old + keep, (size_t)(undo->size - keep), undo->offset + keep);
            }
            dropped++;
        }
        (void)!ftruncate(descriptor, size);
        close(descriptor);
        freeUndo(path->undo);
        path->undo = NULL;
    }
}

/* Counts one operation on a tracked file and cuts when it is the armed one. 1 if cut. */
static int countOperation(void) {
    if (cut) return 1;
    operations++;
    if (armedAt > 0 && operations >= armedAt) cutNow(armedTear);
    return cut;
}

static int fileClose(sqlite3_file *base) {
    File *file = (File *)base;
    int code = file->real->pMethods ? file->real->pMethods->xClose(file->real) : SQLITE_OK;
    free(file->name);
    file->name = NULL;
    return code;
}

static int fileRead(sqlite3_file *base, void *buffer, int amount, sqlite3_int64 offset) {
    File *file = (File *)base;
    if (atomic_load(&cut)) {  /* the lock only once the power is out: other tests' reads pass freely */
        pthread_mutex_lock(&lock);
        int dead = cut && tracked(file);
        pthread_mutex_unlock(&lock);
        if (dead) return SQLITE_IOERR_READ;
    }
    return file->real->pMethods->xRead(file->real, buffer, amount, offset);
}

/* How an operation on a file goes on: straight through, failed (the power is out), or
   tracked, with the lock held until the caller releases it. */
typedef enum { PASS, DEAD, TRACK } Entry;

static Entry enter(File *file) {
    pthread_mutex_lock(&lock);
    if (!tracked(file)) {
        pthread_mutex_unlock(&lock);
        return PASS;
    }
    if (countOperation()) {
        pthread_mutex_unlock(&lock);
        return DEAD;
    }
    return TRACK;
}

/* The bytes in [offset, offset + length) as they are now (those before the end of the file),
   to put back at a cut. */
static Undo *remember(File *file, sqlite3_int64 offset, sqlite3_int64 length) {
    sqlite3_int64 size = 0;
    file->real->pMethods->xFileSize(file->real, &size);
    Undo *undo = calloc(1, sizeof(Undo));
    undo->offset = offset;
    undo->size = offset >= size ? 0 : (int)(offset + length <= size ? length : size - offset);
    if (undo->size > 0) {
        undo->old = malloc((size_t)undo->size);
        file->real->pMethods->xRead(file->real, undo->old, undo->size, offset);
    }
    return undo;
}

/* Keeps `undo` for the file's next cut when the operation succeeded; releases the lock. */
static int settle(File *file, Undo *undo, int code) {
    if (code == SQLITE_OK) {
        Path *path = pathOf(file);
        undo->next = path->undo;
        path->undo = undo;
        if (undo->written > 0) lastWritten = path;
    } else {
        freeUndo(undo);
    }
    pthread_mutex_unlock(&lock);
    return code;
}

static int fileWrite(sqlite3_file *base, const void *buffer, int amount, sqlite3_int64 offset) {
    File *file = (File *)base;
    switch (enter(file)) {
    case PASS: return file->real->pMethods->xWrite(file->real, buffer, amount, offset);
    case DEAD: return SQLITE_IOERR_WRITE;
    case TRACK: break;
    }
    pathOf(file);  /* the size at the last sync is the size before this write */
    Undo *undo = remember(file, offset, amount);
    undo->written = amount;
    return settle(file, undo, file->real->pMethods->xWrite(file->real, buffer, amount, offset));
}

static int fileTruncate(sqlite3_file *base, sqlite3_int64 newSize) {
    File *file = (File *)base;
    switch (enter(file)) {
    case PASS: return file->real->pMethods->xTruncate(file->real, newSize);
    case DEAD: return SQLITE_IOERR_TRUNCATE;
    case TRACK: break;
    }
    pathOf(file);
    sqlite3_int64 size = 0;
    file->real->pMethods->xFileSize(file->real, &size);
    Undo *undo = remember(file, newSize, size > newSize ? size - newSize : 0);
    return settle(file, undo, file->real->pMethods->xTruncate(file->real, newSize));
}

static int fileSync(sqlite3_file *base, int flags) {
    File *file = (File *)base;
    switch (enter(file)) {
    case PASS: return file->real->pMethods->xSync(file->real, flags);
    case DEAD: return SQLITE_IOERR_FSYNC;
    case TRACK: break;
    }
    int code = file->real->pMethods->xSync(file->real, flags);
    if (code == SQLITE_OK) {
        Path *path = pathOf(file);
        freeUndo(path->undo);
        path->undo = NULL;
        file->real->pMethods->xFileSize(file->real, &path->syncedSize);
        if (lastWritten == path) lastWritten = NULL;
    }
    pthread_mutex_unlock(&lock);
    return code;
}

static int fileSize(sqlite3_file *base, sqlite3_int64 *size) {
    File *file = (File *)base;
    return file->real->pMethods->xFileSize(file->real, size);
}
static int fileLock(sqlite3_file *base, int level) {
    File *file = (File *)base;
    return file->real->pMethods->xLock(file->real, level);
}
static int fileUnlock(sqlite3_file *base, int level) {
    File *file = (File *)base;
    return file->real->pMethods->xUnlock(file->real, level);
}
static int fileCheckReservedLock(sqlite3_file *base, int *result) {
    File *file = (File *)base;
    return file->real->pMethods->xCheckReservedLock(file->real, result);
}
static int fileControl(sqlite3_file *base, int op, void *argument) {
    File *file = (File *)base;
    return file->real->pMethods->xFileControl(file->real, op, argument);
}
static int fileSectorSize(sqlite3_file *base) {
    File *file = (File *)base;
    return file->real->pMethods->xSectorSize(file->real);
}
static int fileDeviceCharacteristics(sqlite3_file *base) {
    File *file = (File *)base;
    return file->real->pMethods->xDeviceCharacteristics(file->real);
}
static int fileShmMap(sqlite3_file *base, int region, int size, int extend, void volatile **memory) {
    File *file = (File *)base;
    return file->real->pMethods->xShmMap(file->real, region, size, extend, memory);
}
static int fileShmLock(sqlite3_file *base, int offset, int n, int flags) {
    File *file = (File *)base;
    return file->real->pMethods->xShmLock(file->real, offset, n, flags);
}
static void fileShmBarrier(sqlite3_file *base) {
    File *file = (File *)base;
    file->real->pMethods->xShmBarrier(file->real);
}
static int fileShmUnmap(sqlite3_file *base, int deleteFlag) {
    File *file = (File *)base;
    return file->real->pMethods->xShmUnmap(file->real, deleteFlag);
}
/* Memory-mapped reads would bypass xRead and the dead state: refused, SQLite reads instead. */
static int fileFetch(sqlite3_file *base, sqlite3_int64 offset, int amount, void **pointer) {
    (void)base; (void)offset; (void)amount;
    *pointer = NULL;
    return SQLITE_OK;
}
static int fileUnfetch(sqlite3_file *base, sqlite3_int64 offset, void *pointer) {
    (void)base; (void)offset; (void)pointer;
    return SQLITE_OK;
}

static const sqlite3_io_methods methods = {
    3, fileClose, fileRead, fileWrite, fileTruncate, fileSync, fileSize, fileLock, fileUnlock,
    fileCheckReservedLock, fileControl, fileSectorSize, fileDeviceCharacteristics,
    fileShmMap, fileShmLock, fileShmBarrier, fileShmUnmap, fileFetch, fileUnfetch,
};

static int vfsOpen(sqlite3_vfs *self, const char *name, sqlite3_file *base, int flags, int *outFlags) {
    (void)self;
    File *file = (File *)base;
    file->real = (sqlite3_file *)&file[1];
    file->name = name ? strdup(name) : NULL;
    int code = inner->xOpen(inner, name, file->real, flags, outFlags);
    if (code != SQLITE_OK || file->real->pMethods == NULL) {
        free(file->name);
        file->name = NULL;
        base->pMethods = NULL;
        return code;
    }
    base->pMethods = &methods;
    return code;
}

static int vfsDelete(sqlite3_vfs *self, const char *name, int syncDirectory) {
    (void)self;
    pthread_mutex_lock(&lock);
    File probe = {.name = (char *)name};
    int isTracked = tracked(&probe);
    if (isTracked && cut) {
        pthread_mutex_unlock(&lock);
        return SQLITE_IOERR_DELETE;
    }
    if (isTracked) {
        /* A deleted file is gone for good: forget what was unsynced in it. */
        for (Path *path = paths; path; path = path->next) {
            if (strcmp(path->name, name) == 0) {
                freeUndo(path->undo);
                path->undo = NULL;
                path->syncedSize = 0;
                if (lastWritten == path) lastWritten = NULL;
            }
        }
    }
    pthread_mutex_unlock(&lock);
    return inner->xDelete(inner, name, syncDirectory);
}

static int vfsAccess(sqlite3_vfs *self, const char *name, int flags, int *result) {
    (void)self;
    return inner->xAccess(inner, name, flags, result);
}
static int vfsFullPathname(sqlite3_vfs *self, const char *name, int size, char *out) {
    (void)self;
    return inner->xFullPathname(inner, name, size, out);
}
static void *vfsDlOpen(sqlite3_vfs *self, const char *name) { (void)self; return inner->xDlOpen(inner, name); }
static void vfsDlError(sqlite3_vfs *self, int size, char *message) { (void)self; inner->xDlError(inner, size, message); }
static void (*vfsDlSym(sqlite3_vfs *self, void *handle, const char *symbol))(void) {
    (void)self;
    return inner->xDlSym(inner, handle, symbol);
}
static void vfsDlClose(sqlite3_vfs *self, void *handle) { (void)self; inner->xDlClose(inner, handle); }
static int vfsRandomness(sqlite3_vfs *self, int size, char *out) { (void)self; return inner->xRandomness(inner, size, out); }
static int vfsSleep(sqlite3_vfs *self, int microseconds) { (void)self; return inner->xSleep(inner, microseconds); }
static int vfsCurrentTime(sqlite3_vfs *self, double *now) { (void)self; return inner->xCurrentTime(inner, now); }
static int vfsGetLastError(sqlite3_vfs *self, int size, char *out) { (void)self; return inner->xGetLastError(inner, size, out); }
static int vfsCurrentTimeInt64(sqlite3_vfs *self, sqlite3_int64 *now) {
    (void)self;
    return inner->xCurrentTimeInt64(inner, now);
}

int plvfs_install(void) {
    pthread_mutex_lock(&lock);
    if (inner) {
        pthread_mutex_unlock(&lock);
        return SQLITE_OK;
    }
    sqlite3_initialize();
    inner = sqlite3_vfs_find(NULL);
    if (!inner || inner->iVersion < 2) {
        inner = NULL;
        pthread_mutex_unlock(&lock);
        return SQLITE_ERROR;
    }
    vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(File) + inner->szOsFile,
        .mxPathname = inner->mxPathname,
        .zName = "powerloss",
        .xOpen = vfsOpen,
        .xDelete = vfsDelete,
        .xAccess = vfsAccess,
        .xFullPathname = vfsFullPathname,
        .xDlOpen = vfsDlOpen,
        .xDlError = vfsDlError,
        .xDlSym = vfsDlSym,
        .xDlClose = vfsDlClose,
        .xRandomness = vfsRandomness,
        .xSleep = vfsSleep,
        .xCurrentTime = vfsCurrentTime,
        .xGetLastError = vfsGetLastError,
        .xCurrentTimeInt64 = vfsCurrentTimeInt64,
    };
    int code = sqlite3_vfs_register(&vfs, 1);
    pthread_mutex_unlock(&lock);
    return code;
}

void plvfs_track(const char *newPrefix) {
    pthread_mutex_lock(&lock);
    free(prefix);
    prefix = newPrefix ? strdup(newPrefix) : NULL;
    while (paths) {
        Path *next = paths->next;
        freeUndo(paths->undo);
        free(paths->name);
        free(paths);
        paths = next;
    }
    lastWritten = NULL;
    cut = 0;
    operations = 0;
    armedAt = 0;
    armedTear = 0;
    dropped = 0;
    pthread_mutex_unlock(&lock);
}

void plvfs_arm(long long operation, int tear) {
    pthread_mutex_lock(&lock);
    armedAt = operation > 0 ? operations + operation : 0;
    armedTear = tear;
    pthread_mutex_unlock(&lock);
}

void plvfs_cut(int tear) {
    pthread_mutex_lock(&lock);
    cutNow(tear);
    pthread_mutex_unlock(&lock);
}

int plvfs_is_cut(void) {
    return atomic_load(&cut);
}

long long plvfs_operations(void) {
    pthread_mutex_lock(&lock);
    long long result = operations;
    pthread_mutex_unlock(&lock);
    return result;
}

long long plvfs_dropped(void) {
    pthread_mutex_lock(&lock);
    long long result = dropped;
    pthread_mutex_unlock(&lock);
    return result;
}
