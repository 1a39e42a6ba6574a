"""pyHanko's HistoricalResolver._load_reverse_xref_cache (pyHanko 0.38.0, MIT licence), with one change: the walk
does not call itself for a value that is not a reference, dictionary or array (numbers, names, strings: the call
would return at once). On a sealed 50-page PDF that is two calls in three of the walk that maps every object of a
revision to the paths reaching it, which the difference analysis does for each revision after a signature.
signing/fast_parsing.py installs it only over the source it was copied from; tests/unit/signing/test_fast_parsing.py
compares the maps both build.
"""

# ruff: noqa
# mypy: ignore-errors
from __future__ import annotations

from collections import defaultdict

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import RawPdfPath

_WALKED = (generic.IndirectObject, generic.DictionaryObject, generic.ArrayObject)


def _load_reverse_xref_cache(self):  # noqa: C901
    if self._indirect_object_access_cache is not None:
        return

    collected = defaultdict(set)

    # internally, _compute_paths_to_refs works with singly linked lists
    # to avoid having to create & destroy lots of list objects
    # We flatten everything when we're done
    def _compute_paths_to_refs(
        obj,
        cur_path: misc.ConsList[str | int],
        seen_in_path: misc.ConsList[generic.Reference],
        *,
        page_tree_objs,
        is_struct_tree,
        struct_tree_objs,
    ):
        # optimisation: page tree gets special treatment
        # to prevent unnecessary paths from being generated when the
        # tree is entered from the outside (e.g. by following /P on a form
        # field/widget annotation)
        # The structure tree is similarly special-cased.

        # Can we deal with this more systematically? The problem is that
        # there's no a priori way to state which path from an object
        # to the trailer is the "canonical" one. For page objects
        #  things are a bit more clear-cut, so we deal with those
        # separately.

        if isinstance(obj, generic.IndirectObject):
            obj_ref = obj.reference
            if obj_ref in seen_in_path:
                return
            collected[obj_ref].add(cur_path)
            seen_in_path = seen_in_path.cons(obj_ref)
            obj = self(obj_ref)
            # Only enter a page tree node via its canonical path through
            # the tree. Following any other reference into it (e.g. link
            # destinations pointing to other pages, or a /Kids array that
            # is not part of the page tree) blows up the number of paths
            # combinatorially in documents with many cross-page links.
            # Checking the path structurally is not enough, since
            # anything can contain a /Kids entry.
            canonical_path = page_tree_objs.get(obj_ref, cur_path)
            if cur_path != canonical_path:
                return
            if not is_struct_tree and obj_ref in struct_tree_objs:
                return
        if isinstance(obj, generic.DictionaryObject):
            for k, v in obj.items():
                # another hack to eliminate some spurious extra paths
                # that don't convey any useful information
                if k == "/Parent" or (is_struct_tree and k == "/P"):
                    continue
                if not isinstance(v, _WALKED):  # hoso: a number, name or string leads nowhere; skip the call
                    continue

                _compute_paths_to_refs(
                    v,
                    cur_path.cons(k),
                    seen_in_path,
                    page_tree_objs=page_tree_objs,
                    # for the struct tree: we definitely want to
                    # consider the /ParentTree as an "external" feature
                    # here, since it contains lots of references to
                    # structure elements that only exist for indexing
                    # purposes so they don't add any extra information
                    # (in the sense that recursing into them accomplishes
                    # nothing)
                    is_struct_tree=is_struct_tree
                    or (
                        cur_path.head == "/StructTreeRoot"
                        and k == "/K"
                        and cur_path.tail == misc.ConsList.sing("/Root")
                    ),
                    struct_tree_objs=struct_tree_objs,
                )
        elif isinstance(obj, generic.ArrayObject):
            for ix, v in enumerate(obj):
                if not isinstance(v, _WALKED):  # hoso: as above
                    continue
                _compute_paths_to_refs(
                    v,
                    cur_path.cons(ix),
                    seen_in_path,
                    page_tree_objs=page_tree_objs,
                    is_struct_tree=is_struct_tree,
                    struct_tree_objs=struct_tree_objs,
                )

    def _collect_page_tree_refs(pages_obj, path):
        for ix, kid in enumerate(pages_obj["/Kids"]):
            kid_path = path.cons("/Kids").cons(ix)
            # should always be true, but hey
            if isinstance(kid, generic.IndirectObject):
                yield kid.reference, kid_path
            kid = kid.get_object()
            if kid.get("/Type", None) == "/Pages":
                yield from _collect_page_tree_refs(kid, kid_path)

    def _collect_struct_tree_refs(struct_elem):
        try:
            children = struct_elem["/K"]
        except KeyError:
            return

        # if there's only one child, /K need not be an array
        if not isinstance(children, generic.ArrayObject):
            children = (children,)

        for child in children:
            child_ref = None
            if isinstance(child, generic.IndirectObject):
                child_ref = child.reference
                child = child.get_object()

            # The /K entry can also refer to content items.
            # We don't care about those.
            if not isinstance(child, generic.DictionaryObject):
                continue
            try:
                if child["/Type"] != "/StructElem":
                    continue
            except KeyError:
                # If the child doesn't have a /Type entry, /StructElem
                # is the default (says so in the spec)
                pass

            if child_ref is not None:
                yield child_ref

            yield from _collect_struct_tree_refs(child)

    pages_ref = self.root.raw_get("/Pages")
    pages_path = misc.ConsList.sing("/Root").cons("/Pages")
    page_tree_nodes = {}
    if isinstance(pages_ref, generic.IndirectObject):
        page_tree_nodes[pages_ref.reference] = pages_path
    for ref, path in _collect_page_tree_refs(pages_ref.get_object(), pages_path):
        if ref in page_tree_nodes:
            raise misc.PdfReadError("Circular reference in page tree in mapping stage")
        page_tree_nodes[ref] = path
    struct_tree_nodes = set()
    try:
        struct_tree_root_ref = self.root.raw_get("/StructTreeRoot")
        struct_tree_root = struct_tree_root_ref.get_object()
        for ref in _collect_struct_tree_refs(struct_tree_root):
            if ref in struct_tree_nodes:
                raise misc.PdfReadError("Circular reference in structure tree in mapping stage")
            struct_tree_nodes.add(ref)
    except KeyError:
        pass
    _compute_paths_to_refs(
        self.trailer_view,
        misc.ConsList.empty(),
        misc.ConsList.empty(),
        page_tree_objs=page_tree_nodes,
        is_struct_tree=False,
        struct_tree_objs=struct_tree_nodes,
    )

    self._indirect_object_access_cache = {
        ref: {RawPdfPath(*reversed(list(p))) for p in paths} for ref, paths in collected.items()
    }
