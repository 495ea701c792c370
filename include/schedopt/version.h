/* schedopt/version.h — the library's version (the project's VERSION in
 * CMakeLists.txt; the build checks that the two agree). */
#ifndef SCHEDOPT_VERSION_H
#define SCHEDOPT_VERSION_H

#define SCHEDOPT_VERSION_MAJOR 0
#define SCHEDOPT_VERSION_MINOR 1
#define SCHEDOPT_VERSION_PATCH 0
#define SCHEDOPT_VERSION "0.1.0"

#endif
