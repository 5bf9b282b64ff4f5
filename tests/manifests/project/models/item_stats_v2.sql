select count(*) as n, max(id) as top from {{ ref('items') }}
