-- added_after on a collection: find where the walk starts by date_added.
CREATE INDEX collection_objects_coll_added ON collection_objects (coll, added);
