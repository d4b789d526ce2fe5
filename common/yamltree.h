/*
 * yamltree.h - a YAML document as a small tree that remembers the line of
 * every node, so configuration errors can name file and line.
 */
#ifndef YAMLTREE_H
#define YAMLTREE_H

#include <stddef.h>

enum ynode_kind { YN_SCALAR, YN_MAP, YN_SEQ };

struct ynode {
	enum ynode_kind	 kind;
	int		 line;		/* 1-based */
	char		*str;		/* YN_SCALAR: value; in a map: key */
	struct ynode	*child;		/* YN_MAP, YN_SEQ: first entry */
	struct ynode	*next;		/* next sibling */
	struct ynode	*value;		/* map entries: the value node */
	int		 quoted;	/* scalar was quoted */
};

/*
 * Parse a file.  NULL on error, with a message "FILE:LINE: what" in err.
 * A map is a list of entries whose str is the key and value the value.
 */
struct ynode	*ytree_load(const char *path, char *err, size_t errlen);
void		 ytree_free(struct ynode *);
struct ynode	*ytree_get(const struct ynode *map, const char *key);

#endif /* YAMLTREE_H */
