// Status codes shared by every C module. Functions that can fail return one of these;
// the exported API (the src/*_api.c files) turns them into a readable last-error message.
#ifndef LL_STATUS_H
#define LL_STATUS_H

enum {
    LL_OK = 0,
    LL_EINVAL = -1,     // an argument is out of range (size, count, hyperparameter)
    LL_ENOMEM = -2,     // an allocation failed
    LL_ENONFINITE = -3, // NaN or infinity in an input or a result
    LL_EFORMAT = -4,    // a file or buffer does not have the expected format
};

#endif
